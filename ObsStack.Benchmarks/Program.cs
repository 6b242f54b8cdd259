using ObsStack.Benchmarks;
using ObsStack.Benchmarks.Harness;
using ObsStack.Benchmarks.Throughput;

// Child roles first: the harness starts itself as the ceiling client, as the empty web app (the startup floor) and as
// the reader of a console pipe.
if (args is [CeilingClient.Role, .. var childArgs])
{
    return await CeilingClient.RunChildAsync(childArgs);
}

if (args is [EmptyWebApp.Role, .. var webArgs])
{
    return await EmptyWebApp.RunChildAsync(webArgs);
}

if (args is [PipeDrain.Role])
{
    return await PipeDrain.RunChildAsync();
}

return await Suites.RunAsync(args);
