// What the reconix command printed, and its exit code, for argument lists that load no manifest and touch no host:
// the help of every command and the errors of bad arguments, captured from the command as it was before its
// commands became modules of their own (RECONIX_STATE_DIR=/nonexistent/reconix-state, output not a terminal);
// scripts/gen-cli-fixture.mjs captures them again after a deliberate change.
export interface CliCase {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export const CLI_CASES: readonly CliCase[] = [
  {
    args: [],
    code: 1,
    stdout: '',
    stderr:
      "Usage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
  },
  {
    args: ['--help'],
    code: 0,
    stdout:
      "Usage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
    stderr: '',
  },
  {
    args: ['help'],
    code: 0,
    stdout:
      "Usage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
    stderr: '',
  },
  {
    args: ['--version'],
    code: 1,
    stdout: '',
    stderr:
      "error: unknown option '--version'\n\nUsage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
  },
  {
    args: ['plan', '--help'],
    code: 0,
    stdout:
      'Usage: reconix plan [options]\n\nshow what deploy would do; exit 0: no changes, 1: changes, 2: error\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --json                print the plan as JSON\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['deploy', '--help'],
    code: 0,
    stdout:
      'Usage: reconix deploy [options]\n\ncreate missing hosts and cloud resources, build, copy and activate what changed\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --max-parallel <n>    machines copied and activated at once\n  --mode <mode>         how to activate (choices: "switch", "boot", "test",\n                        "dry-activate")\n  --always-activate     activate even machines that already run their system\n  --create-only         create missing hosts and cloud resources, then stop\n  --build-only          build every selected machine\'s system here; create and\n                        activate nothing\n  --copy-only           create, build and copy to the hosts, but activate\n                        nothing\n  --json                print the report as JSON\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['check', '--help'],
    code: 0,
    stdout:
      'Usage: reconix check [options]\n\nreport per machine: exists, up, reachable, drifted; exit code is a bitmask (see\nREADME)\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --json                print the results as JSON\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['info', '--help'],
    code: 0,
    stdout:
      'Usage: reconix info [options]\n\na table per machine: target, address, activated system, drift, last deploy\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --json                print as JSON\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['list-generations', '--help'],
    code: 0,
    stdout:
      "Usage: reconix list-generations [options]\n\nlist the system profile's generations of each machine\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n",
    stderr: '',
  },
  {
    args: ['rollback', '--help'],
    code: 0,
    stdout:
      'Usage: reconix rollback [options] <generation>\n\nswitch machines to an earlier (or later) generation and hold them there until\nthe spec changes\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['delete-generation', '--help'],
    code: 0,
    stdout:
      'Usage: reconix delete-generation [options] <generation>\n\ndelete a generation of the system profile on machines\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['destroy', '--help'],
    code: 0,
    stdout:
      'Usage: reconix destroy [options]\n\ndestroy the hosts and cloud resources Reconix created for the deployment and\nforget the rest\n\nOptions:\n  --include <machines>       only these machines (comma-separated, globs\n                             allowed, @tag for deployment.tags)\n  --exclude <machines>       not these machines (comma-separated, globs allowed,\n                             @tag for deployment.tags)\n  --delete-nonempty-buckets  delete S3 buckets with everything in them (else\n                             they are refused)\n  -h, --help                 display help for command\n',
    stderr: '',
  },
  {
    args: ['send-keys', '--help'],
    code: 0,
    stdout:
      "Usage: reconix send-keys [options]\n\nwrite the selected machines' keys now (deployment.keys), whatever the hosts have\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n",
    stderr: '',
  },
  {
    args: ['stop', '--help'],
    code: 0,
    stdout:
      'Usage: reconix stop [options]\n\nstop the machines Reconix created (instances, local hosts)\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['start', '--help'],
    code: 0,
    stdout:
      'Usage: reconix start [options]\n\nstart stopped machines again\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['reboot', '--help'],
    code: 0,
    stdout:
      'Usage: reconix reboot [options]\n\nreboot the machines Reconix created\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['ssh', '--help'],
    code: 0,
    stdout:
      "Usage: reconix ssh [options] <machine> [command...]\n\na shell (or a command) on a machine, with Reconix's key and the machine's pinned\nhost key\n\nOptions:\n  -h, --help  display help for command\n",
    stderr: '',
  },
  {
    args: ['exec', '--help'],
    code: 0,
    stdout:
      'Usage: reconix exec [options] <command...>\n\nrun a command on every selected machine over ssh, output prefixed with the\nmachine name\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --max-parallel <n>    machines at once\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['controller', '--help'],
    code: 0,
    stdout:
      'Usage: reconix controller [options]\n\nreconcile continuously: manifests in a directory (a git-sync link), or\nNixDeployments (--kube)\n\nOptions:\n  --dir <dir>                       directory of NixDeployment manifests; may be\n                                    a symlink swapped by git-sync\n  --listen <addr>                   address for /metrics and /healthz (default:\n                                    "127.0.0.1:9402")\n  --concurrency <n>                 deployments reconciled at once (default: 4)\n  --stuck-after <duration>          (--dir) /healthz fails while a reconcile\n                                    runs longer than this (default: "1h")\n  --kube                            Kubernetes mode: watch NixDeployment\n                                    objects; state, status and events in the API\n                                    server\n  --kubeconfig <file>               (--kube) kubeconfig; default $KUBECONFIG,\n                                    ~/.kube/config or in-cluster\n  --namespace <ns>                  (--kube) watch only this namespace\n  --source-root <dir>               (--kube) what spec.network.files are\n                                    relative to (a git-sync link)\n  --no-leader-elect                 (--kube) act without a leader Lease (one\n                                    replica only)\n  --leader-election-namespace <ns>  (--kube) namespace of the Lease; default\n                                    $POD_NAMESPACE\n  --leader-election-id <name>       (--kube) name of the Lease; default\n                                    reconix-controller, with a hash of\n                                    --selector appended if given\n  --selector <labels>               (--kube) only NixDeployments this label\n                                    selector matches (a shard)\n  --lease-duration <s>              (--kube) seconds a leader holds the Lease\n                                    unrenewed (default: 15)\n  --renew-deadline <s>              (--kube) seconds a leader keeps trying to\n                                    renew (default: 10)\n  --retry-period <s>                (--kube) seconds between tries (default: 2)\n  --allow-ambient-aws-credentials   (--kube) deployments without\n                                    spec.awsCredentialsSecretRef use the\n                                    controller\'s AWS credentials (default:\n                                    false)\n  --no-build-sandbox                (--kube) build outside Nix\'s sandbox (where\n                                    the controller cannot make namespaces)\n  -h, --help                        display help for command\n',
    stderr: '',
  },
  {
    args: ['help', 'deploy'],
    code: 0,
    stdout:
      'Usage: reconix deploy [options]\n\ncreate missing hosts and cloud resources, build, copy and activate what changed\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --max-parallel <n>    machines copied and activated at once\n  --mode <mode>         how to activate (choices: "switch", "boot", "test",\n                        "dry-activate")\n  --always-activate     activate even machines that already run their system\n  --create-only         create missing hosts and cloud resources, then stop\n  --build-only          build every selected machine\'s system here; create and\n                        activate nothing\n  --copy-only           create, build and copy to the hosts, but activate\n                        nothing\n  --json                print the report as JSON\n  -h, --help            display help for command\n',
    stderr: '',
  },
  {
    args: ['nosuch'],
    code: 1,
    stdout: '',
    stderr:
      "error: unknown command 'nosuch'\n\nUsage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
  },
  {
    args: ['rollback'],
    code: 1,
    stdout: '',
    stderr:
      "error: missing required argument 'generation'\n\nUsage: reconix rollback [options] <generation>\n\nswitch machines to an earlier (or later) generation and hold them there until\nthe spec changes\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n",
  },
  {
    args: ['delete-generation'],
    code: 1,
    stdout: '',
    stderr:
      "error: missing required argument 'generation'\n\nUsage: reconix delete-generation [options] <generation>\n\ndelete a generation of the system profile on machines\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n",
  },
  {
    args: ['ssh'],
    code: 1,
    stdout: '',
    stderr:
      "error: missing required argument 'machine'\n\nUsage: reconix ssh [options] <machine> [command...]\n\na shell (or a command) on a machine, with Reconix's key and the machine's pinned\nhost key\n\nOptions:\n  -h, --help  display help for command\n",
  },
  {
    args: ['exec'],
    code: 1,
    stdout: '',
    stderr:
      "error: missing required argument 'command'\n\nUsage: reconix exec [options] <command...>\n\nrun a command on every selected machine over ssh, output prefixed with the\nmachine name\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --max-parallel <n>    machines at once\n  -h, --help            display help for command\n",
  },
  {
    args: ['deploy', '--create-only', '--build-only'],
    code: 1,
    stdout: '',
    stderr:
      'error: option \'--create-only\' cannot be used with option \'--build-only\'\n\nUsage: reconix deploy [options]\n\ncreate missing hosts and cloud resources, build, copy and activate what changed\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --max-parallel <n>    machines copied and activated at once\n  --mode <mode>         how to activate (choices: "switch", "boot", "test",\n                        "dry-activate")\n  --always-activate     activate even machines that already run their system\n  --create-only         create missing hosts and cloud resources, then stop\n  --build-only          build every selected machine\'s system here; create and\n                        activate nothing\n  --copy-only           create, build and copy to the hosts, but activate\n                        nothing\n  --json                print the report as JSON\n  -h, --help            display help for command\n',
  },
  {
    args: ['deploy', '--build-only', '--copy-only'],
    code: 1,
    stdout: '',
    stderr:
      'error: option \'--build-only\' cannot be used with option \'--copy-only\'\n\nUsage: reconix deploy [options]\n\ncreate missing hosts and cloud resources, build, copy and activate what changed\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --max-parallel <n>    machines copied and activated at once\n  --mode <mode>         how to activate (choices: "switch", "boot", "test",\n                        "dry-activate")\n  --always-activate     activate even machines that already run their system\n  --create-only         create missing hosts and cloud resources, then stop\n  --build-only          build every selected machine\'s system here; create and\n                        activate nothing\n  --copy-only           create, build and copy to the hosts, but activate\n                        nothing\n  --json                print the report as JSON\n  -h, --help            display help for command\n',
  },
  {
    args: ['deploy', '--mode', 'reboot'],
    code: 1,
    stdout: '',
    stderr:
      'error: option \'--mode <mode>\' argument \'reboot\' is invalid. Allowed choices are switch, boot, test, dry-activate.\n\nUsage: reconix deploy [options]\n\ncreate missing hosts and cloud resources, build, copy and activate what changed\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --max-parallel <n>    machines copied and activated at once\n  --mode <mode>         how to activate (choices: "switch", "boot", "test",\n                        "dry-activate")\n  --always-activate     activate even machines that already run their system\n  --create-only         create missing hosts and cloud resources, then stop\n  --build-only          build every selected machine\'s system here; create and\n                        activate nothing\n  --copy-only           create, build and copy to the hosts, but activate\n                        nothing\n  --json                print the report as JSON\n  -h, --help            display help for command\n',
  },
  {
    args: ['deploy', '--max-parallel', '0'],
    code: 1,
    stdout: '',
    stderr:
      'error: option \'--max-parallel <n>\' argument \'0\' is invalid. expected a positive whole number\n\nUsage: reconix deploy [options]\n\ncreate missing hosts and cloud resources, build, copy and activate what changed\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --max-parallel <n>    machines copied and activated at once\n  --mode <mode>         how to activate (choices: "switch", "boot", "test",\n                        "dry-activate")\n  --always-activate     activate even machines that already run their system\n  --create-only         create missing hosts and cloud resources, then stop\n  --build-only          build every selected machine\'s system here; create and\n                        activate nothing\n  --copy-only           create, build and copy to the hosts, but activate\n                        nothing\n  --json                print the report as JSON\n  -h, --help            display help for command\n',
  },
  {
    args: ['plan', '--max-parallel', '2'],
    code: 1,
    stdout: '',
    stderr:
      "error: unknown option '--max-parallel'\n\nUsage: reconix plan [options]\n\nshow what deploy would do; exit 0: no changes, 1: changes, 2: error\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --allow-reboot        change instance types by stopping and starting instances\n  --allow-recreate      replace cloud objects that cannot change in place\n  --kill-obsolete       destroy hosts and resources that left the spec\n  --json                print the plan as JSON\n  -h, --help            display help for command\n",
  },
  {
    args: ['check', '--allow-reboot'],
    code: 1,
    stdout: '',
    stderr:
      "error: unknown option '--allow-reboot'\n\nUsage: reconix check [options]\n\nreport per machine: exists, up, reachable, drifted; exit code is a bitmask (see\nREADME)\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --json                print the results as JSON\n  -h, --help            display help for command\n",
  },
  {
    args: ['controller', '--concurrency', 'x'],
    code: 1,
    stdout: '',
    stderr:
      "error: option '--concurrency <n>' argument 'x' is invalid. expected a positive whole number\n\nUsage: reconix controller [options]\n\nreconcile continuously: manifests in a directory (a git-sync link), or\nNixDeployments (--kube)\n\nOptions:\n  --dir <dir>                       directory of NixDeployment manifests; may be\n                                    a symlink swapped by git-sync\n  --listen <addr>                   address for /metrics and /healthz (default:\n                                    \"127.0.0.1:9402\")\n  --concurrency <n>                 deployments reconciled at once (default: 4)\n  --stuck-after <duration>          (--dir) /healthz fails while a reconcile\n                                    runs longer than this (default: \"1h\")\n  --kube                            Kubernetes mode: watch NixDeployment\n                                    objects; state, status and events in the API\n                                    server\n  --kubeconfig <file>               (--kube) kubeconfig; default $KUBECONFIG,\n                                    ~/.kube/config or in-cluster\n  --namespace <ns>                  (--kube) watch only this namespace\n  --source-root <dir>               (--kube) what spec.network.files are\n                                    relative to (a git-sync link)\n  --no-leader-elect                 (--kube) act without a leader Lease (one\n                                    replica only)\n  --leader-election-namespace <ns>  (--kube) namespace of the Lease; default\n                                    $POD_NAMESPACE\n  --leader-election-id <name>       (--kube) name of the Lease; default\n                                    reconix-controller, with a hash of\n                                    --selector appended if given\n  --selector <labels>               (--kube) only NixDeployments this label\n                                    selector matches (a shard)\n  --lease-duration <s>              (--kube) seconds a leader holds the Lease\n                                    unrenewed (default: 15)\n  --renew-deadline <s>              (--kube) seconds a leader keeps trying to\n                                    renew (default: 10)\n  --retry-period <s>                (--kube) seconds between tries (default: 2)\n  --allow-ambient-aws-credentials   (--kube) deployments without\n                                    spec.awsCredentialsSecretRef use the\n                                    controller's AWS credentials (default:\n                                    false)\n  --no-build-sandbox                (--kube) build outside Nix's sandbox (where\n                                    the controller cannot make namespaces)\n  -h, --help                        display help for command\n",
  },
  {
    args: ['controller'],
    code: 1,
    stdout: '',
    stderr:
      "error: controller needs --dir, or --kube\n\nUsage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
  },
  {
    args: ['info', '--nosuch'],
    code: 1,
    stdout: '',
    stderr:
      "error: unknown option '--nosuch'\n\nUsage: reconix info [options]\n\na table per machine: target, address, activated system, drift, last deploy\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  --json                print as JSON\n  -h, --help            display help for command\n",
  },
  {
    args: ['list', '--help'],
    code: 0,
    stdout:
      'Usage: reconix list [options]\n\nthe deployments recorded in the state dir: machines, last outcome and when\n\nOptions:\n  --json      print as JSON\n  -h, --help  display help for command\n',
    stderr: '',
  },
  {
    args: ['show-physical', '--help'],
    code: 0,
    stdout:
      'Usage: reconix show-physical [options]\n\nthe physical view as evaluated: machines, their targets, resources; builds\nnothing\n\nOptions:\n  --json      print as JSON\n  -h, --help  display help for command\n',
    stderr: '',
  },
  {
    args: ['show-arguments', '--help'],
    code: 0,
    stdout:
      "Usage: reconix show-arguments [options]\n\nthe network's arguments (spec.network.args of the manifest)\n\nOptions:\n  --json      print as JSON\n  -h, --help  display help for command\n",
    stderr: '',
  },
  {
    args: ['set-args', '--help'],
    code: 0,
    stdout:
      "Usage: reconix set-args [options]\n\nset or unset the network's arguments, editing spec.network.args of the manifest\nfile\n\nOptions:\n  --arg <name value...>  set argument NAME to the string VALUE\n  --unset <name>         remove argument NAME\n  -h, --help             display help for command\n",
    stderr: '',
  },
  {
    args: ['show-option', '--help'],
    code: 0,
    stdout:
      "Usage: reconix show-option [options] <machine> <option>\n\na machine's config.<option> as JSON (e.g. networking.hostName,\ndeployment.targetEnv)\n\nOptions:\n  -h, --help  display help for command\n",
    stderr: '',
  },
  {
    args: ['scp', '--help'],
    code: 0,
    stdout:
      'Usage: reconix scp [options] <machine> <src> <dst>\n\ncopy SRC here to DST on a machine (--from: SRC on the machine to DST here) with\nscp\n\nOptions:\n  --from      copy from the machine\n  --to        copy to the machine (the default)\n  -h, --help  display help for command\n',
    stderr: '',
  },
  {
    args: ['dump-nix-paths', '--help'],
    code: 0,
    stdout:
      "Usage: reconix dump-nix-paths [options]\n\nthe store path of every machine's system, one per line (nothing is built)\n\nOptions:\n  --include <machines>  only these machines (comma-separated, globs allowed,\n                        @tag for deployment.tags)\n  --exclude <machines>  not these machines (comma-separated, globs allowed, @tag\n                        for deployment.tags)\n  -h, --help            display help for command\n",
    stderr: '',
  },
  {
    args: ['export', '--help'],
    code: 0,
    stdout:
      "Usage: reconix export [options]\n\nprint the recorded state of deployments as JSON, by name (-d, the manifests', or\n--all)\n\nOptions:\n  --all       every deployment recorded in the state dir\n  -h, --help  display help for command\n",
    stderr: '',
  },
  {
    args: ['import', '--help'],
    code: 0,
    stdout:
      'Usage: reconix import [options]\n\nrecord the deployments of an export read from stdin\n\nOptions:\n  --force     replace the state of deployments already recorded\n  -h, --help  display help for command\n',
    stderr: '',
  },
  {
    args: ['unlock', '--help'],
    code: 0,
    stdout:
      "Usage: reconix unlock [options]\n\nremove a deployment's stale lock; never one whose process is alive on this host\n\nOptions:\n  --yes       do not ask\n  -h, --help  display help for command\n",
    stderr: '',
  },
  {
    args: ['delete', '--help'],
    code: 0,
    stdout:
      'Usage: reconix delete [options]\n\nforget a deployment that has no host or cloud resource left (destroy it first)\n\nOptions:\n  --force     forget it even so, leaving what it created as it is\n  -h, --help  display help for command\n',
    stderr: '',
  },
  {
    args: ['show-option', 'machine'],
    code: 1,
    stdout: '',
    stderr:
      "error: missing required argument 'option'\n\nUsage: reconix show-option [options] <machine> <option>\n\na machine's config.<option> as JSON (e.g. networking.hostName,\ndeployment.targetEnv)\n\nOptions:\n  -h, --help  display help for command\n",
  },
  {
    args: ['scp', '--from', '--to', 'm', 'a', 'b'],
    code: 1,
    stdout: '',
    stderr:
      "error: --from and --to: choose one\n\nUsage: reconix [options] [command]\n\nDeploy NixOS machines from Nix network files, and keep them as the spec says.\n\nOptions:\n  -f, --file <path>                         NixDeployment manifest file, or a directory of them (default: \"reconix.yaml\")\n  -d, --deployment <name>                   only this deployment of the manifests\n  --state-dir <dir>                         where Reconix records what it created and activated (default: \"/nonexistent/reconix-state\")\n  -v, --verbose                             structured logs on stderr\n  --log-format <format>                     logs (-v, controller) as JSON lines or text; default: text on a terminal, else JSON (choices: \"json\", \"text\")\n  --aws-endpoint <url>                      an AWS-compatible endpoint instead of AWS (default: $AWS_ENDPOINT_URL)\n  --restrict-eval                           evaluate networks in Nix's restricted mode, as Kubernetes mode always does\n  -h, --help                                display help for command\n\nCommands:\n  plan [options]                            show what deploy would do; exit 0: no changes, 1: changes, 2: error\n  deploy [options]                          create missing hosts and cloud resources, build, copy and activate what changed\n  check [options]                           report per machine: exists, up, reachable, drifted; exit code is a bitmask (see README)\n  info [options]                            a table per machine: target, address, activated system, drift, last deploy\n  list-generations [options]                list the system profile's generations of each machine\n  rollback [options] <generation>           switch machines to an earlier (or later) generation and hold them there until the spec changes\n  rollout                                   act on a rollout in waves\n  delete-generation [options] <generation>  delete a generation of the system profile on machines\n  destroy [options]                         destroy the hosts and cloud resources Reconix created for the deployment and forget the rest\n  send-keys [options]                       write the selected machines' keys now (deployment.keys), whatever the hosts have\n  stop [options]                            stop the machines Reconix created (instances, local hosts)\n  start [options]                           start stopped machines again\n  reboot [options]                          reboot the machines Reconix created\n  ssh <machine> [command...]                a shell (or a command) on a machine, with Reconix's key and the machine's pinned host key\n  scp [options] <machine> <src> <dst>       copy SRC here to DST on a machine (--from: SRC on the machine to DST here) with scp\n  exec [options] <command...>               run a command on every selected machine over ssh, output prefixed with the machine name\n  list [options]                            the deployments recorded in the state dir: machines, last outcome and when\n  show-physical [options]                   the physical view as evaluated: machines, their targets, resources; builds nothing\n  show-option <machine> <option>            a machine's config.<option> as JSON (e.g. networking.hostName, deployment.targetEnv)\n  show-arguments [options]                  the network's arguments (spec.network.args of the manifest)\n  set-args [options]                        set or unset the network's arguments, editing spec.network.args of the manifest file\n  dump-nix-paths [options]                  the store path of every machine's system, one per line (nothing is built)\n  export [options]                          print the recorded state of deployments as JSON, by name (-d, the manifests', or --all)\n  import [options]                          record the deployments of an export read from stdin\n  unlock [options]                          remove a deployment's stale lock; never one whose process is alive on this host\n  delete [options]                          forget a deployment that has no host or cloud resource left (destroy it first)\n  controller [options]                      reconcile continuously: manifests in a directory (a git-sync link), or NixDeployments (--kube)\n  help [command]                            display help for command\n",
  },
  {
    args: ['rollout', '--help'],
    code: 0,
    stdout:
      'Usage: reconix rollout [options] [command]\n\nact on a rollout in waves\n\nOptions:\n  -h, --help           display help for command\n\nCommands:\n  resume <deployment>  resume a rollout paused after a wave (at the next deploy\n                       or controller reconcile)\n  help [command]       display help for command\n',
    stderr: '',
  },
  {
    args: ['rollout', 'resume', '--help'],
    code: 0,
    stdout:
      'Usage: reconix rollout resume [options] <deployment>\n\nresume a rollout paused after a wave (at the next deploy or controller\nreconcile)\n\nArguments:\n  deployment  the deployment whose rollout is paused\n\nOptions:\n  -h, --help  display help for command\n',
    stderr: '',
  },
];
