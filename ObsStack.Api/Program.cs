using ObsStack.Api.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApiServices();

var app = builder.Build();

// The order matters:
// 1. tracing    - the hosting layer has started the server span before any middleware runs (the ASP.NET Core
//                 instrumentation ServiceDefaults adds names it and sets its HTTP attributes);
// 2. correlation - so every log line below, the recovery's included, carries the trace and request ids;
// 3. metrics    - the runtime's http.server.request.duration, recorded by the hosting layer around all of this,
//                 with http.route from routing and the status this pipeline finally sends (a recovered 500 too);
// 4. recovery   - innermost, so an exception it turns into a 500 has already been traced, correlated and measured.
app.UseRequestCorrelation();
app.UseExceptionHandler();
app.UseStatusCodePages();     // a bodyless 4xx/5xx (404, 405, a timed-out 504) still gets problem+json
app.UseRequestTimeouts();     // Api:RequestTimeout for every endpoint

app.MapDefaultEndpoints();
app.MapDataApi();
app.MapJobsApi();
app.MapChaosApi();

app.Run();
