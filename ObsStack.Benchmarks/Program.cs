using ObsStack.Benchmarks;
using ObsStack.Benchmarks.Throughput;

// Child roles first: the harness starts itself as the ceiling client.
if (args is [CeilingClient.Role, .. var childArgs])
{
    return await CeilingClient.RunChildAsync(childArgs);
}

return await Suites.RunAsync(args);
