# Run the machine on a local test host (a namespace on the controller machine).
{
  machine = {
    deployment.targetEnv = "local";
  };
}
