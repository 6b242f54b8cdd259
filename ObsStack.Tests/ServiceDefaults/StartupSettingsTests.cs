using System.Diagnostics;
using System.Reflection;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>
/// A bad setting, given as a user gives it (an environment variable or a command-line switch), to the real program:
/// every service and the AppHost stop with one line on standard error naming the key and the rule, and exit code 1 —
/// no stack trace, no abort (exit 134), nothing else printed.
/// </summary>
public sealed class StartupSettingsTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string, string, string> BadSettings => new()
    {
        // program, environment variable or --switch, value, the one line must contain
        { "ObsStack.Api", "Api__ChaosKey", "short", "ObsStack.Api: invalid setting: Api:ChaosKey must be at least 16 characters" },
        { "ObsStack.Api", "Api__RequestTimeout", "abc", "'Api:RequestTimeout' to type 'System.TimeSpan'" },
        { "ObsStack.Api", "Api__RequestTimeout", "00:00:00", "Api:RequestTimeout: The field RequestTimeout must be between 00:00:01 and 00:10:00." },
        { "ObsStack.Worker", "WorkerPool__Workers", "0", "ObsStack.Worker: invalid setting: WorkerPool:Workers: The field Workers must be between 1 and 256." },
        { "ObsStack.Worker", "Telemetry__Traces__OtlpEndpoint", " ", "ObsStack.Worker: invalid setting: Telemetry:Traces:OtlpEndpoint ' ' is not an absolute URL" },
        { "ObsStack.Api", "OTEL_TRACES_SAMPLER", "sometimes", "ObsStack.Api: invalid setting: OTEL_TRACES_SAMPLER 'sometimes' is not supported." },
        { "ObsStack.AppHost", "--ObsStack:Containers", "maybe", "ObsStack.AppHost: invalid setting: ObsStack:Containers is 'maybe'; use 'auto' (the default), 'on' or 'off'." },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task A_bad_setting_stops_the_program_with_one_line_naming_the_key_and_exit_code_1(
        string program, string key, string value, string expected)
    {
        var environment = new Dictionary<string, string>();
        var arguments = new List<string>();
        if (key.StartsWith("--", StringComparison.Ordinal))
        {
            arguments.Add($"{key}={value}");
        }
        else
        {
            environment[key] = value;
        }

        await AssertStopsWithOneLineAsync(program, arguments, environment, expected);
    }

    [SkippableFact]
    public async Task The_https_profile_without_a_development_certificate_stops_the_AppHost_with_what_to_run()
    {
        // The user's certificate store is a folder under HOME on Linux only; elsewhere an empty HOME proves nothing.
        Skip.IfNot(OperatingSystem.IsLinux(), "Stands in for a machine without the certificate with an empty HOME (Linux's user certificate store).");
        var home = Directory.CreateTempSubdirectory("obsstack-no-certificate-");
        try
        {
            await AssertStopsWithOneLineAsync("ObsStack.AppHost", [], new()
            {
                ["HOME"] = home.FullName,
                ["ASPNETCORE_URLS"] = "https://localhost:17999",
            }, "ASPNETCORE_URLS is 'https://localhost:17999' (the https launch profile), which needs the ASP.NET Core development certificate, and none is installed: run 'dotnet dev-certs https --trust', or use the default http profile");
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private static async Task AssertStopsWithOneLineAsync(
        string program, List<string> arguments, Dictionary<string, string> environment, string expected)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { ProgramPath(program) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        arguments.ForEach(start.ArgumentList.Add);
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var given = string.Join(" ", environment.Select(e => $"{e.Key}={e.Value}").Concat(arguments));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} with {given} was still running after {ExitTimeout.TotalSeconds:0} s: a bad setting must stop it.");
        }

        var errorLines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var output = await stdout;
        Assert.True(process.ExitCode == 1, $"{program} with {given}: exit code {process.ExitCode}; stderr:\n{await stderr}\nstdout:\n{output}");
        var line = Assert.Single(errorLines);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", output + line);
        Assert.DoesNotContain("exception", output, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The program as its own build wrote it (the AppHost needs its own deps.json, not the test's folder).</summary>
    private static string ProgramPath(string program)
    {
        var configuration = typeof(StartupSettingsTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var path = Path.Combine(GrafanaFiles.FindRepoRoot(), program, "bin", configuration, "net10.0", program + ".dll");
        Assert.True(File.Exists(path), $"{path} does not exist: the test project builds {program}.");
        return path;
    }
}
