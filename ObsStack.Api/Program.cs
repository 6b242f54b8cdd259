using ObsStack.Api.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApiServices();

var app = builder.Build();

// The order is the reference write-up's, and it matters:
// 1. tracing    - the hosting layer has started the server span before any middleware runs;
// 2. correlation - so every log line below, the recovery's included, carries the trace and request ids;
// 3. metrics    - the runtime's http.server.request.duration, recorded by the hosting layer around all of this,
//                 with http.route from routing and the status this pipeline finally sends (a recovered 500 too);
// 4. recovery   - innermost, so an exception it turns into a 500 has already been traced, correlated and measured.
app.UseRequestCorrelation();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestTimeouts();

app.MapDefaultEndpoints();
app.MapDataApi();
app.MapJobsApi();
app.MapChaosApi();

app.Run();
