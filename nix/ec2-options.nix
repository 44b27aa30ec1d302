# deployment.ec2.*: where and how an EC2 machine runs, with NixOps' option names and meanings. A value that names
# a resource may be the resource itself (`resources.ec2KeyPairs.kp`); Reconix resolves it once the resource exists.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  # A resource: `resources.<type>.<name>`, serialised as { "_ref": "<type>.<name>" } in the physical view.
  resource = types.attrsOf types.anything;
  nameOrResource = types.either types.str resource;
  blockDevice = types.submodule {
    options = {
      disk = mkOption {
        type = types.nullOr nameOrResource;
        default = null;
        description = "An existing volume to attach: an id (\"vol-...\") or resources.ebsVolumes.<name>. Null: a new volume of `size` GiB, made at launch.";
      };
      size = mkOption {
        type = types.int;
        default = 0;
        description = "Size in GiB of the volume made at launch.";
      };
      volumeType = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "EBS volume type of the volume made at launch (gp3, io1, ...).";
      };
      iops = mkOption {
        type = types.nullOr types.int;
        default = null;
      };
      deleteOnTermination = mkOption {
        type = types.nullOr types.bool;
        default = null;
        description = "Delete the volume with the instance. Default: yes for volumes made at launch, no for attached ones.";
      };
      encrypt = mkOption {
        type = types.bool;
        default = false;
      };
    };
  };
in
{
  options = {
    region = mkOption {
      type = types.str;
      default = "";
      example = "eu-west-1";
      description = "AWS region of the instance (required for EC2 machines).";
    };
    zone = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "eu-west-1a";
      description = "Availability zone; AWS picks one when null.";
    };
    instanceType = mkOption {
      type = types.str;
      default = "m1.small";
      description = "Instance type. Changing it stops, modifies and starts the instance, with --allow-reboot.";
    };
    ami = mkOption {
      type = types.str;
      default = "";
      description = "The image to launch: a NixOS AMI of the region (required for EC2 machines).";
    };
    keyPair = mkOption {
      type = types.nullOr nameOrResource;
      default = null;
      description = "The key pair: a name, or resources.ec2KeyPairs.<name> (whose private key Reconix keeps and uses).";
    };
    privateKey = mkOption {
      type = types.nullOr (types.either types.str types.path);
      default = null;
      description = "Private key file for SSH when keyPair names a key pair Reconix does not manage. Never copied to the store.";
    };
    securityGroups = mkOption {
      type = types.nullOr (types.listOf nameOrResource);
      default = null;
      description = "Security groups by name or as resources.ec2SecurityGroups.<name>. Null: [ \"default\" ], unless securityGroupIds are given.";
    };
    securityGroupIds = mkOption {
      type = types.listOf nameOrResource;
      default = [ ];
      description = "Security groups by id (\"sg-...\") or as resources.ec2SecurityGroups.<name>.";
    };
    subnetId = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Subnet to launch into (a VPC launch).";
    };
    associatePublicIpAddress = mkOption {
      type = types.bool;
      default = false;
      description = "In a subnet, whether the instance gets a public address.";
    };
    usePrivateIpAddress = mkOption {
      type = types.bool;
      default = false;
      description = "Reach the machine over SSH at its private address instead of its public one.";
    };
    elasticIPv4 = mkOption {
      type = types.nullOr nameOrResource;
      default = null;
      description = "An elastic IP to associate: an address, or resources.elasticIPs.<name>.";
    };
    ebsInitialRootDiskSize = mkOption {
      type = types.int;
      default = 0;
      description = "Root disk size in GiB at launch; 0 keeps the image's.";
    };
    blockDeviceMapping = mkOption {
      type = types.attrsOf blockDevice;
      default = { };
      example = {
        "/dev/xvdf".size = 10;
      };
      description = "Extra EBS volumes by device name: made at launch (size) or attached (disk).";
    };
    tags = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Tags of the instance (Reconix adds its own: reconix:deployment, reconix:name, reconix:token).";
    };
  };
}
