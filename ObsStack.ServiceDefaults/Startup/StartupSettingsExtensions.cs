using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Startup;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>
    /// A bad setting stops the service at start with one line naming the key and the rule, and exit code 1
    /// (<see cref="StartupSettings"/>). The options registered with <c>ValidateOnStart</c> are checked when the host is
    /// built, not when it starts: a failure at start is also logged by the host as "Hosting failed to start" with the
    /// whole stack, which is exactly what a bad setting should not print.
    /// </summary>
    public static TBuilder AddStartupSettingsCheck<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        StartupSettings.ExitOnInvalidSettings();
        // The same provider options the host would use by default (scopes and registrations checked in Development).
        var development = builder.Environment.IsDevelopment();
        builder.ConfigureContainer(new SettingsCheckingServiceProviderFactory(
            new ServiceProviderOptions { ValidateScopes = development, ValidateOnBuild = development }));
        return builder;
    }

    private sealed class SettingsCheckingServiceProviderFactory(ServiceProviderOptions options)
        : IServiceProviderFactory<IServiceCollection>
    {
        public IServiceCollection CreateBuilder(IServiceCollection services) => services;

        public IServiceProvider CreateServiceProvider(IServiceCollection containerBuilder)
        {
            var provider = containerBuilder.BuildServiceProvider(options);
            try
            {
                // Binds and validates every ValidateOnStart options type; the host does it again at start, by then a no-op.
                provider.GetService<IStartupValidator>()?.Validate();
            }
            catch
            {
                provider.Dispose();
                throw;
            }

            return provider;
        }
    }
}
