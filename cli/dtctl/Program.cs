using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Access;
using DeviceTrust.Cli.Dtctl.Audit;
using DeviceTrust.Cli.Dtctl.Cluster;
using DeviceTrust.Cli.Dtctl.Config;
using DeviceTrust.Cli.Dtctl.Devices;
using DeviceTrust.Cli.Dtctl.Locks;
using DeviceTrust.Cli.Dtctl.Nodes;
using DeviceTrust.Cli.Dtctl.Roles;
using DeviceTrust.Cli.Dtctl.Users;
using DeviceTrust.Client.Profiles;

var store = ProfileStore.Default();
var root = new RootCommand("dtctl: administer a DeviceTrust cluster (uses the profile of dtsh login)")
{
    new Command("users", "Manage users")
    {
        UsersAddCommand.Create(store),
        UsersListCommand.Create(store),
        UsersGetCommand.Create(store),
        UsersUpdateCommand.Create(store),
        UsersEditCommand.Create(store),
        UsersResetCommand.Create(store),
        UsersRemoveCommand.Create(store),
    },
    new Command("roles", "Manage roles")
    {
        RolesListCommand.Create(store),
        RolesGetCommand.Create(store),
        RolesCreateCommand.Create(store),
        RolesEditCommand.Create(store),
        RolesRemoveCommand.Create(store),
    },
    new Command("devices", "Manage the device inventory")
    {
        DevicesAddCommand.Create(store),
        DevicesListCommand.Create(store),
        DevicesGetCommand.Create(store),
        DevicesRemoveCommand.Create(store),
        DevicesEnrollCommand.Create(store),
        DevicesUnenrollCommand.Create(store),
        DevicesUpdateCommand.Create(store),
        DevicesEditCommand.Create(store),
        DevicesDiffCommand.Create(store),
        DevicesSyncCommand.Create(store),
    },
    new Command("locks", "Cut users, devices or roles off at once")
    {
        LocksAddCommand.Create(store),
        LocksListCommand.Create(store),
        LocksRemoveCommand.Create(store),
    },
    new Command("nodes", "Manage SSH nodes")
    {
        NodesAddCommand.Create(store),
        NodesListCommand.Create(store),
        NodesRemoveCommand.Create(store),
    },
    new Command("access", "Access decisions")
    {
        AccessCheckCommand.Create(store),
    },
    new Command("audit", "The audit log")
    {
        AuditListCommand.Create(store),
    },
    new Command("config", "Cluster configuration")
    {
        ConfigGetCommand.Create(store),
        ConfigSetCommand.Create(store),
    },
    new Command("cluster", "The nodes of the cluster, its stored secrets and its CAs")
    {
        ClusterStatusCommand.Create(store),
        RewrapSecretsCommand.Create(store),
        CaCommands.Create(store),
    },
};
return await root.Parse(args).InvokeAsync();
