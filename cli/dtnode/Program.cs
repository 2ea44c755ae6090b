using System.CommandLine;
using DeviceTrust.Cli.Dtnode;

var root = new RootCommand("dtnode: make a stock sshd let in DeviceTrust users, as the cluster decides")
{
    JoinCommand.Create(),
    ServeCommand.Create(),
    AuthorizePrincipalsCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
