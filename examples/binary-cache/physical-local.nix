# The three machines as local test hosts.
{
  web1.deployment.targetEnv = "local";
  web2.deployment.targetEnv = "local";
  web3.deployment.targetEnv = "local";
}
