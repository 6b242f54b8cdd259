using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry;

namespace ObsStack.Profiling;

/// <summary>
/// Pushes profiles to Pyroscope's push API: <c>POST {endpoint}/push.v1.PusherService/Push</c>, a Connect unary call
/// with a binary protobuf body (<c>Content-Type: application/proto</c>) holding a <c>push.v1.PushRequest</c>
/// (grafana/pyroscope api/push/v1/push.proto).
/// <para>
/// Bounded by construction: one slot per profile type. A newer profile replaces a waiting one (counted as dropped,
/// reason <c>superseded</c>), so a slow or dead Pyroscope holds at most one profile per type in memory. When Pyroscope
/// is unreachable, profiles are dropped and counted, the next attempts back off exponentially (one interval up to
/// five minutes), and exactly one warning is logged until an upload succeeds again.
/// </para>
/// </summary>
internal sealed partial class PyroscopeUploader : IAsyncDisposable
{
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromMinutes(5);
    private static readonly MediaTypeHeaderValue s_protoContentType = new("application/proto");

    private readonly Uri _pushUri;
    private readonly IReadOnlyList<(string Name, string Value)> _labels;
    private readonly ProfilingTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _minBackoff;
    private readonly HttpClient _http;
    private readonly ProfileType[] _types;
    private readonly EncodedProfile?[] _slots;
    // Capacity 1 and DropWrite: a doorbell, not a queue. Ringing it twice before the loop wakes is the same as once;
    // the profiles themselves wait in _slots.
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    private DateTimeOffset _retryAt = DateTimeOffset.MinValue;
    private TimeSpan _backoff;
    private bool _failing;
    private long _droppedWhileFailing;

    public PyroscopeUploader(
        ProfilingOptions options,
        IReadOnlyList<ProfileType> types,
        ProfiledService service,
        ProfilingTelemetry telemetry,
        ILogger logger,
        TimeProvider? time = null)
    {
        _pushUri = options.PushUri ?? throw new ArgumentException("PyroscopeEndpoint is not an absolute URL.", nameof(options));
        _labels = SeriesLabels(service);
        _telemetry = telemetry;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _minBackoff = options.UploadInterval;
        _backoff = _minBackoff;
        _types = [.. types];
        _slots = new EncodedProfile?[_types.Length];

        // A private client, not IHttpClientFactory: the factory's default logging handlers write a line per request,
        // which with a dead Pyroscope would be a line per profile. Uploads are sequential, so a hanging Pyroscope
        // holds one attempt at a time, for at most the timeout; profiles made meanwhile replace each other in _slots.
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };

        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// The series labels: <c>__name__</c> selects the profile type, <c>service_name</c> is the same service name the
    /// other three signals carry. Resource attributes keep their OpenTelemetry names with dots turned into
    /// underscores, exactly what Pyroscope's own label sanitizing would produce, plus <c>instance</c> as on the
    /// Prometheus side.
    /// </summary>
    internal static IReadOnlyList<(string Name, string Value)> SeriesLabels(ProfiledService service) =>
    [
        ("service_name", service.Name),
        ("service_version", service.Version),
        ("deployment_environment_name", service.Environment),
        ("service_instance_id", service.InstanceId),
        ("instance", service.InstanceId),
    ];

    /// <summary>Hands a profile over without waiting; replaces (and counts) a profile of the same type still waiting.</summary>
    public void Offer(EncodedProfile profile)
    {
        var slot = Array.IndexOf(_types, profile.Type);
        if (Interlocked.Exchange(ref _slots[slot], profile) is not null)
        {
            _telemetry.Dropped(profile.Type, "superseded");
        }

        _doorbell.Writer.TryWrite(true);
    }

    /// <summary>Sends what is waiting, within <paramref name="timeout"/>; what does not make it is dropped and counted.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        _doorbell.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(timeout)) != _loop)
        {
            await _stopping.CancelAsync();
        }

        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        DropWaiting("shutdown");
    }

    public async ValueTask DisposeAsync()
    {
        _doorbell.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        DropWaiting("shutdown");
        _http.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var _ in _doorbell.Reader.ReadAllAsync(_stopping.Token))
            {
                await SendWaitingAsync();
            }

            // Completed by FlushAsync: one last round for what arrived with the final ring.
            await SendWaitingAsync();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutdown ran out of time; DropWaiting accounts for what is left.
        }
    }

    private async Task SendWaitingAsync()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            if (Interlocked.Exchange(ref _slots[i], null) is { } profile)
            {
                await SendAsync(profile);
            }
        }
    }

    private void DropWaiting(string reason)
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            if (Interlocked.Exchange(ref _slots[i], null) is { } profile)
            {
                _telemetry.Dropped(profile.Type, reason);
            }
        }
    }

    private async Task SendAsync(EncodedProfile profile)
    {
        if (_time.GetUtcNow() < _retryAt)
        {
            Drop(profile, "backoff");
            return;
        }

        string? failure;
        var rejected = false;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _pushUri)
            {
                Content = new ByteArrayContent(EncodePushRequest(profile, _labels)) { Headers = { ContentType = s_protoContentType } },
            };
            request.Headers.Add("Connect-Protocol-Version", "1");

            HttpResponseMessage response;
            // The push is the profiler's own plumbing: keep it out of the service's traces.
            using (SuppressInstrumentationScope.Begin())
            {
                response = await _http.SendAsync(request, _stopping.Token);
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    Succeeded(profile);
                    return;
                }

                // 4xx other than 429: Pyroscope understood the request and refused this profile (limits, validation);
                // retrying the same bytes would not help. The body is Connect's JSON error and says why.
                rejected = (int)response.StatusCode is >= 400 and < 500 && response.StatusCode != HttpStatusCode.TooManyRequests;
                var body = await response.Content.ReadAsStringAsync(_stopping.Token);
                failure = $"HTTP {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] : body)}";
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            Drop(profile, "shutdown");
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            failure = e is TaskCanceledException ? $"no answer within {_http.Timeout.TotalSeconds:0} s" : e.Message;
        }

        Failed(profile, failure, rejected);
    }

    private void Succeeded(EncodedProfile profile)
    {
        _telemetry.Uploaded(profile.Type);
        _backoff = _minBackoff;
        _retryAt = DateTimeOffset.MinValue;
        if (_failing)
        {
            _failing = false;
            LogRecovered(_logger, _pushUri, _droppedWhileFailing);
            _droppedWhileFailing = 0;
        }
    }

    private void Failed(EncodedProfile profile, string failure, bool rejected)
    {
        Drop(profile, rejected ? "rejected" : "unreachable");
        if (!_failing)
        {
            _failing = true;
            if (rejected)
            {
                LogRejected(_logger, _pushUri, failure);
            }
            else
            {
                LogUnreachable(_logger, _pushUri, failure);
            }
        }

        if (!rejected)
        {
            _retryAt = _time.GetUtcNow() + _backoff;
            _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, s_maxBackoff.Ticks));
        }
    }

    private void Drop(EncodedProfile profile, string reason)
    {
        _telemetry.Dropped(profile.Type, reason);
        if (_failing)
        {
            _droppedWhileFailing++;
        }
    }

    /// <summary>
    /// <c>push.v1.PushRequest { repeated RawProfileSeries series = 1; }</c>,
    /// <c>RawProfileSeries { repeated types.v1.LabelPair labels = 1; repeated RawSample samples = 2; }</c>,
    /// <c>LabelPair { string name = 1; string value = 2; }</c>, <c>RawSample { bytes raw_profile = 1; string ID = 2; }</c>.
    /// </summary>
    internal static byte[] EncodePushRequest(EncodedProfile profile, IReadOnlyList<(string Name, string Value)> labels)
    {
        using var series = new MemoryStream();
        var seriesOutput = new CodedOutputStream(series, leaveOpen: true);
        WriteLabel(seriesOutput, "__name__", profile.Type.Name);
        foreach (var (name, value) in labels)
        {
            WriteLabel(seriesOutput, name, value);
        }

        var id = Guid.NewGuid().ToString();
        var rawProfile = UnsafeByteOperations.UnsafeWrap(profile.GzippedPprof);
        seriesOutput.WriteTag(2, WireFormat.WireType.LengthDelimited);
        seriesOutput.WriteLength(CodedOutputStream.ComputeBytesSize(rawProfile) + CodedOutputStream.ComputeStringSize(id) + 2);
        seriesOutput.WriteTag(1, WireFormat.WireType.LengthDelimited);
        seriesOutput.WriteBytes(rawProfile);
        seriesOutput.WriteTag(2, WireFormat.WireType.LengthDelimited);
        seriesOutput.WriteString(id);
        seriesOutput.Flush();

        using var request = new MemoryStream((int)series.Length + 8);
        var requestOutput = new CodedOutputStream(request, leaveOpen: true);
        requestOutput.WriteTag(1, WireFormat.WireType.LengthDelimited);
        requestOutput.WriteBytes(UnsafeByteOperations.UnsafeWrap(series.GetBuffer().AsMemory(0, (int)series.Length)));
        requestOutput.Flush();
        return request.ToArray();

        static void WriteLabel(CodedOutputStream output, string name, string value)
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteLength(2 + CodedOutputStream.ComputeStringSize(name) + CodedOutputStream.ComputeStringSize(value));
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteString(name);
            output.WriteTag(2, WireFormat.WireType.LengthDelimited);
            output.WriteString(value);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pyroscope at {Endpoint} is unreachable ({Failure}). Profiles are dropped and counted in profiler.uploads.dropped until it answers again; retries back off up to 5 minutes.")]
    private static partial void LogUnreachable(ILogger logger, Uri endpoint, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pyroscope at {Endpoint} rejected a profile ({Failure}). Rejected profiles are dropped and counted in profiler.uploads.dropped.")]
    private static partial void LogRejected(ILogger logger, Uri endpoint, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pyroscope at {Endpoint} accepts profiles again; {Dropped} profiles were dropped meanwhile.")]
    private static partial void LogRecovered(ILogger logger, Uri endpoint, long dropped);
}
