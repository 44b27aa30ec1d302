# Run the three machines on local test hosts (namespaces on the controller machine).
let
  local = {
    deployment.targetEnv = "local";
  };
in
{
  proxy = local;
  backend1 = local;
  backend2 = local;
}
