using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace ObsStack.ServiceDefaults.Http;

/// <summary>
/// The safety net behind <see cref="JsonRequestBody"/>: a <see cref="BadHttpRequestException"/> (Kestrel's verdict on a
/// malformed, short, slow or oversized request) that escapes any handler is the client's fault. It is answered with the
/// exception's own 4xx as problem+json and logged at debug without a stack; handled here, the exception middleware
/// neither logs it as an error nor counts it as a 500.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems, ILogger<BadRequestExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogRejected(httpContext.Request.Method, httpContext.Request.Path, bad.StatusCode, bad.Message);
        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = JsonRequestBody.TitleFor(bad.StatusCode),
                Detail = bad.Message,
            },
        });
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path}: bad request ({StatusCode}): {Reason}")]
    private partial void LogRejected(string method, string path, int statusCode, string reason);
}
