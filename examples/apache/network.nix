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
      environment.etc."httpd/proxy.conf".text = ''
        ServerName proxy.${domain}
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
