# A reverse proxy in front of two backends: what the machines do, not where they run (see physical-*.nix).
# The proxy's configuration is built from the backends' addresses, which Reconix knows once they exist.
{
  domain ? "example.org",
  ...
}:
let
  backend =
    name:
    { config, ... }:
    {
      environment.etc."httpd/htdocs/index.html".text = "<h1>${name}.${domain}</h1>\n";
    };
in
{
  network.description = "Apache reverse proxy with two backends";

  defaults = {
    networking.firewall.allowedTCPPorts = [
      22
      80
    ];
    system.stateVersion = "24.05";
  };

  proxy =
    { nodes, ... }:
    let
      # A backend's private address once known, else its name (every machine's /etc/hosts lists the others).
      address =
        n:
        let
          ip = nodes.${n}.config.networking.privateIPv4;
        in
        if ip == null then n else ip;
    in
    {
      # Basic auth for the proxy. The key is sent over SSH to /run/keys/htpasswd and never enters the Nix store;
      # the configuration refers to it by its path only (interpolating its text would copy it into the store).
      # The line is an example user "admin" with an example password hash: use your own, for instance with
      # keyFile = "/etc/reconix/htpasswd" (a string: read at deploy time) or keyCommand = [ "pass" "show" "htpasswd" ].
      deployment.keys.htpasswd = {
        text = "admin:$apr1$reconix0$6Yc0Oqz5P0ZQm8Jn0rL5n/\n";
        permissions = "0640"; # with group = "wwwrun" on NixOS, so that Apache can read it
      };
      environment.etc."httpd/proxy.conf".text = ''
        ServerName proxy.${domain}
        <Location />
          AuthType Basic
          AuthName "proxy.${domain}"
          AuthUserFile /run/keys/htpasswd
          Require valid-user
        </Location>
        <Proxy balancer://backends>
          BalancerMember http://${address "backend1"}:80
          BalancerMember http://${address "backend2"}:80
        </Proxy>
        ProxyPass / balancer://backends/
        ProxyPassReverse / balancer://backends/
      '';
    };

  backend1 = backend "backend1";
  backend2 = backend "backend2";
}
