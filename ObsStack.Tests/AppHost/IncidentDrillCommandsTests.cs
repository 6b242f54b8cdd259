using System.Net;
using Aspire.Hosting;

namespace ObsStack.Tests.AppHost;

/// <summary>What a drill button answers in the dashboard's notification center, for each kind of answer from the api.</summary>
public sealed class IncidentDrillCommandsTests
{
    [Fact]
    public void Errors_in_force_are_said_with_their_share_and_end()
    {
        var result = IncidentDrillCommands.ChaosCommandResult(HttpStatusCode.OK, "OK",
            """{"active":true,"latencyMs":0,"errorRate":0.5,"exceptionRate":0,"expiresAt":"2026-12-07T10:05:00+00:00"}""");

        Assert.True(result.Success);
        Assert.Equal("Chaos on: 50% errors on GET /data/{id} until 10:05:00 UTC.", result.Message);
    }

    [Fact]
    public void Latency_and_exceptions_together_are_both_said()
    {
        var result = IncidentDrillCommands.ChaosCommandResult(HttpStatusCode.OK, "OK",
            """{"active":true,"latencyMs":1500,"errorRate":0,"exceptionRate":0.25,"expiresAt":"2026-12-07T10:05:00+01:00"}""");

        Assert.Equal("Chaos on: +1500 ms latency, 25% exceptions on GET /data/{id} until 09:05:00 UTC.", result.Message);
    }

    [Fact]
    public void Knobs_off_say_the_api_runs_normally()
    {
        var result = IncidentDrillCommands.ChaosCommandResult(HttpStatusCode.OK, "OK",
            """{"active":false,"latencyMs":0,"errorRate":0,"exceptionRate":0,"expiresAt":null}""");

        Assert.True(result.Success);
        Assert.Equal("Chaos off: GET /data/{id} runs normally.", result.Message);
    }

    [Fact]
    public void A_refusal_fails_the_command_with_the_api_s_own_detail()
    {
        var result = IncidentDrillCommands.ChaosCommandResult(HttpStatusCode.Forbidden, "Forbidden",
            """{"title":"Chaos key required","status":403,"detail":"Send the api's Api:ChaosKey in the X-Chaos-Key header."}""");

        Assert.False(result.Success);
        Assert.Equal("403 Forbidden: Send the api's Api:ChaosKey in the X-Chaos-Key header.", result.Message);
    }

    [Fact]
    public void An_answer_that_is_not_json_fails_with_its_status()
    {
        var result = IncidentDrillCommands.ChaosCommandResult(HttpStatusCode.BadGateway, "Bad Gateway", "<html>proxy error</html>");

        Assert.False(result.Success);
        Assert.Equal("502 Bad Gateway: no detail", result.Message);
    }
}
