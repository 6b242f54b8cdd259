using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObsStack.Worker.Jobs;
using ObsStack.Worker.Jobs.Redis;
using StackExchange.Redis;

namespace ObsStack.Tests.Worker.Redis;

/// <summary>
/// What a request waiting on Redis gets when the client fails in a way that is not one of its own exceptions (as it can
/// while a connection drops): 503 at intake and on reads, never a 500; the caller's own cancellation stays a cancellation.
/// </summary>
public sealed class EngineFailureTests
{
    private static readonly Job Job = new() { Id = Guid.NewGuid(), Url = new Uri("http://127.0.0.1/ok"), SubmittedAt = DateTimeOffset.UtcNow };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_client_failure_of_any_kind_is_unavailable_at_intake(Exception failure)
    {
        var engine = Engine(failure);

        Assert.Equal(EnqueueOutcome.Unavailable, await engine.EnqueueAsync([Job], CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_client_failure_of_any_kind_is_unavailable_when_a_state_is_read(Exception failure)
    {
        var engine = Engine(failure);

        await Assert.ThrowsAsync<JobEngineUnavailableException>(async () => await engine.GetAsync(Job.Id, CancellationToken.None));
    }

    [Fact]
    public async Task The_callers_own_cancellation_is_not_an_outage()
    {
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();
        var engine = Engine(new OperationCanceledException(canceled.Token));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await engine.EnqueueAsync([Job], canceled.Token));
    }

    public static TheoryData<Exception> Failures() =>
    [
        new RedisConnectionException(ConnectionFailureType.SocketClosed, "SocketClosed"),
        new TimeoutException(),
        new InvalidOperationException("Reading is not allowed after reader was completed."),
        new ObjectDisposedException("socket"),
    ];

    private static RedisJobEngine Engine(Exception failure) => new(
        FailingClient.Create(failure), Options.Create(new WorkerPoolOptions()), TimeProvider.System, NullLogger<RedisJobEngine>.Instance);

    /// <summary>A Redis client whose every call fails with the given exception (asynchronously, as the real client's do).</summary>
    public class FailingClient : DispatchProxy
    {
        private Exception _failure = null!;

        public static IConnectionMultiplexer Create(Exception failure)
        {
            var client = Create<IConnectionMultiplexer, FailingClient>();
            ((FailingClient)(object)client)._failure = failure;
            return client;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method!.Name == nameof(IConnectionMultiplexer.GetDatabase))
            {
                var database = Create<IDatabase, FailingClient>();
                ((FailingClient)(object)database)._failure = _failure;
                return database;
            }

            var returns = method.ReturnType;
            if (returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var fromException = typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!.MakeGenericMethod(returns.GetGenericArguments());
                return fromException.Invoke(null, [_failure]);
            }

            throw new NotSupportedException($"{method.Name} is not used by these tests.");
        }
    }
}
