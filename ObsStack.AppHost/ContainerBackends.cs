using System.Collections.Immutable;
using System.ComponentModel;
using System.Diagnostics;
using Aspire.Hosting.Eventing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObsStack.ServiceDefaults.Startup;

namespace Aspire.Hosting;

/// <summary>
/// Decides whether the five backend containers are declared. Telemetry is optional by design (docs/architecture.md), so a machine
/// without a usable container runtime still runs worker, api and the Aspire dashboard: the backends are then listed
/// in the dashboard as not started, with the reason, and the console says once what to do. Declaring containers that
/// cannot start would leave them "Runtime unhealthy" and stop the whole AppHost after ~2 minutes ("One or more
/// container volumes did not become ready").
/// </summary>
public static class ContainerBackends
{
    /// <summary>
    /// <c>auto</c> (default): ask the container runtime, as <c>docker info</c> / <c>podman info</c> would;
    /// <c>on</c>: always declare the containers; <c>off</c>: never (telemetry goes to the Aspire dashboard only).
    /// </summary>
    public const string ModeKey = "ObsStack:Containers";

    /// <summary>The backends' resource names, the one list of them: each names its folder under grafana/ too.</summary>
    public const string Prometheus = "prometheus", Loki = "loki", Tempo = "tempo", Pyroscope = "pyroscope", Grafana = "grafana";

    /// <summary>The resources that run as containers, in the order they are declared.</summary>
    public static readonly IReadOnlyList<string> Names = [Prometheus, Loki, Tempo, Pyroscope, Grafana];

    /// <summary>The state the dashboard shows for each backend that was not started (short: the column truncates).</summary>
    public const string NotStartedState = "No container runtime";

    /// <summary>The state instead when <see cref="ModeKey"/> is <c>off</c>: nothing is missing, the user chose so.</summary>
    public const string OffState = "Containers off";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// True when the backend containers can run here (or <see cref="ModeKey"/> says <c>on</c>). Otherwise declares
    /// them as placeholders that tell why they were not started, logs that once when the app starts, and returns false.
    /// </summary>
    public static bool ContainerBackendsCanRun(this IDistributedApplicationBuilder builder)
    {
        var why = WhyNotRunnable(builder.Configuration);
        if (why is null)
        {
            return true;
        }

        var whatToDo = WhatToDo(builder.Configuration);
        foreach (var name in Names)
        {
            builder.AddResource(new NotStartedBackendResource(name))
                .WithInitialState(new CustomResourceSnapshot
                {
                    ResourceType = "Container",
                    State = new ResourceStateSnapshot(IsOff(builder.Configuration) ? OffState : NotStartedState, KnownResourceStateStyles.Warn),
                    Properties = [new ResourcePropertySnapshot("Why", $"Not started: {why}. {whatToDo}")],
                    // The resources page shows URLs in its own column: the way out, without opening the details.
                    Urls = WhyUrls(builder.Configuration),
                })
                .ExcludeFromManifest();
        }

        builder.Eventing.Subscribe<BeforeStartEvent>((started, _) =>
        {
            started.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ObsStack.AppHost").LogWarning(
                "Prometheus, Loki, Tempo, Pyroscope and Grafana were not started: {Why}. Worker, api and the Aspire "
                + "dashboard run with all their telemetry. {WhatToDo}", why, whatToDo);

            // The same on each backend's own console log, where a user who clicks it in the dashboard looks first.
            var logs = started.Services.GetRequiredService<ResourceLoggerService>();
            foreach (var name in Names)
            {
                logs.GetLogger(name).LogWarning("{Name} was not started: {Why}. {WhatToDo}", name, why, whatToDo);
            }

            return Task.CompletedTask;
        });
        return false;
    }

    /// <summary>Where Docker is installed from: the link the dashboard shows on each backend that was not started.</summary>
    public const string GetContainerRuntimeUrl = "https://docs.docker.com/get-started/get-docker/";

    /// <summary>The one thing to do about it, depending on why the containers were not declared.</summary>
    private static string WhatToDo(IConfiguration configuration) => IsOff(configuration)
        ? $"Remove {ModeKey}=off (or set it to auto) and run the AppHost again."
        : "Start Docker or Podman and run the AppHost again.";

    private static ImmutableArray<UrlSnapshot> WhyUrls(IConfiguration configuration) => IsOff(configuration)
        ? []
        : [new UrlSnapshot(Name: null, Url: GetContainerRuntimeUrl, IsInternal: false)
        {
            DisplayProperties = new UrlDisplayPropertiesSnapshot("No container runtime: get Docker or Podman", 0),
        }];

    private static bool IsOff(IConfiguration configuration) =>
        string.Equals(configuration[ModeKey]?.Trim(), "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when the containers can run (or are forced on), else why not, in words a user can act on.</summary>
    public static string? WhyNotRunnable(IConfiguration configuration)
    {
        var mode = configuration[ModeKey]?.Trim().ToLowerInvariant();
        return mode switch
        {
            "on" => null,
            "off" => $"{ModeKey} is 'off'",
            null or "" or "auto" => WhyNoContainerRuntime(configuration),
            _ => throw new InvalidSettingException(
                $"{ModeKey} is '{configuration[ModeKey]}'; use 'auto' (the default), 'on' or 'off'."),
        };
    }

    /// <summary>
    /// Null when a container runtime answers, else why none does. Tries the runtime Aspire would use: the one
    /// <c>ASPIRE_CONTAINER_RUNTIME</c> names, else Docker, then Podman. <c>info</c> needs the daemon (or socket) up, not
    /// just the command on PATH.
    /// </summary>
    public static string? WhyNoContainerRuntime(IConfiguration configuration)
    {
        var configured = configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"];
        string[] candidates = string.IsNullOrWhiteSpace(configured) ? ["docker", "podman"] : [configured.Trim()];
        var problems = new List<string>();
        foreach (var runtime in candidates)
        {
            if (Probe(runtime) is not { } problem)
            {
                return null;
            }

            problems.Add(problem);
        }

        return "no container runtime answers (" + string.Join("; ", problems) + ")";
    }

    private static string? Probe(string runtime)
    {
        var start = new ProcessStartInfo(runtime)
        {
            ArgumentList = { "info" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception)
        {
            return $"{runtime} is not installed";
        }

        if (process is null)
        {
            return $"{runtime} could not be started";
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(ProbeTimeout))
            {
                process.Kill(entireProcessTree: true);
                return $"'{runtime} info' did not answer within {ProbeTimeout.TotalSeconds:0} s";
            }

            Task.WaitAll(stdout, stderr);
            if (process.ExitCode == 0)
            {
                return null;
            }

            var firstLine = stderr.Result
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault() ?? "no error output";
            return $"'{runtime} info' failed: {firstLine}";
        }
    }

    /// <summary>A backend that was not started; it only shows its state and the reason in the dashboard.</summary>
    private sealed class NotStartedBackendResource(string name) : Resource(name);
}
