using System.Collections;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ObsStack.ServiceDefaults.Http;

/// <summary>
/// The first middleware, right after the hosting layer has started the server span: every log line of the request
/// gets <c>trace_id</c>, <c>span_id</c> and <c>request_id</c> from a logging scope, and the response carries
/// <c>X-Trace-Id</c> (what to paste into Tempo) and <c>X-Request-Id</c> (the client's own id if it sent a sane one).
/// </summary>
internal sealed class RequestCorrelation(RequestDelegate next, ILogger<RequestCorrelation> logger)
{
    public const string TraceIdHeader = "X-Trace-Id";
    public const string RequestIdHeader = "X-Request-Id";

    private const int MaxRequestIdLength = 128;

    public async Task InvokeAsync(HttpContext context)
    {
        var server = context.Features.Get<IHttpActivityFeature>()?.Activity;
        var requestId = ClientRequestId(context.Request) ?? context.TraceIdentifier;

        // OnStarting, not now: the exception handler clears the response headers before it writes the 500, and the
        // 500 is exactly the response whose trace id a client needs to quote.
        context.Response.OnStarting(static state =>
        {
            var (response, traceId, requestId) = ((HttpResponse, string?, string))state;
            if (traceId is not null)
            {
                response.Headers[TraceIdHeader] = traceId;
            }

            response.Headers[RequestIdHeader] = requestId;
            return Task.CompletedTask;
        }, (context.Response, server?.TraceId.ToHexString(), requestId));

        using (logger.BeginScope(new CorrelationScope(server, requestId)))
        {
            await next(context);
        }
    }

    /// <summary>A client-chosen id is echoed and logged only if it is short and plain: it ends up in headers and log indexes.</summary>
    private static string? ClientRequestId(HttpRequest request)
    {
        var value = request.Headers[RequestIdHeader].ToString();
        if (value.Length is 0 or > MaxRequestIdLength)
        {
            return null;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            {
                return null;
            }
        }

        return value;
    }

    /// <summary>
    /// The scope's ids are read when a line is written: the current span if there is one (so a line logged inside
    /// <c>load_data</c> names that span, as the record's own trace context does), else the request's server span.
    /// </summary>
    private sealed class CorrelationScope(Activity? server, string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 3;

        public KeyValuePair<string, object?> this[int index]
        {
            get
            {
                var span = Activity.Current is { } current && current.TraceId == server?.TraceId ? current : server;
                return index switch
                {
                    0 => new("trace_id", span?.TraceId.ToHexString()),
                    1 => new("span_id", span?.SpanId.ToHexString()),
                    2 => new("request_id", requestId),
                    _ => throw new ArgumentOutOfRangeException(nameof(index)),
                };
            }
        }

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"trace_id:{this[0].Value} span_id:{this[1].Value} request_id:{requestId}";
    }
}
