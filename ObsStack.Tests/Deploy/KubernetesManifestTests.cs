using System.Text.RegularExpressions;
using k8s.Models;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// What a cluster would refuse or get wrong, found without one: every overlay renders, every object is a valid API
/// object, pods meet the "restricted" Pod Security Standard, probe the right endpoints, ask for resources, run pinned
/// images, stop within their grace period, and each overlay runs the replicas and the Redis it promises.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly string[] Services = ["worker", "api"];

    [Fact]
    public void There_is_a_dev_and_a_production_overlay()
    {
        Assert.Equal(["dev", "production"], Kustomize.Overlays);
    }

    [SkippableFact]
    public void Strict_parsing_refuses_an_unknown_field_and_a_wrong_type()
    {
        const string unknownField = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  portz: []\n";
        const string wrongType = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  replicas: two\n";
        const string valid = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports: []\n";

        Assert.IsType<V1Service>(Assert.Single(Kustomize.Parse(valid)));
        Assert.ThrowsAny<Exception>(() => Kustomize.Parse(unknownField));
        Assert.ThrowsAny<Exception>(() => Kustomize.Parse(wrongType));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_overlay_renders_into_valid_API_objects_in_one_namespace(string overlay)
    {
        var objects = Kustomize.Objects(overlay);

        Assert.NotEmpty(objects);
        var namespaced = objects.OfType<k8s.IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1Namespace).ToList();
        Assert.All(namespaced, o => Assert.Equal("obsstack", o.Metadata.NamespaceProperty));
        var ns = Assert.Single(objects.OfType<V1Namespace>());
        Assert.Equal("restricted", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        foreach (var service in Services)
        {
            Kustomize.Deployment(overlay, service);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_pod_meets_the_restricted_Pod_Security_Standard(string overlay)
    {
        foreach (var deployment in Kustomize.Objects<V1Deployment>(overlay))
        {
            var name = deployment.Metadata.Name;
            var pod = deployment.Spec.Template.Spec;
            Assert.True(pod.SecurityContext?.RunAsNonRoot, $"{name}: runAsNonRoot");
            Assert.True(pod.SecurityContext?.RunAsUser > 0, $"{name}: a numeric non-root user the kubelet can check");
            Assert.Equal("RuntimeDefault", pod.SecurityContext?.SeccompProfile?.Type);
            Assert.NotEqual(true, pod.HostNetwork);
            Assert.NotEqual(true, pod.HostPID);
            Assert.NotEqual(true, pod.HostIPC);
            Assert.All(pod.Volumes ?? [], v => Assert.Null(v.HostPath));
            Assert.False(pod.AutomountServiceAccountToken, $"{name}: no service account token");

            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                var security = container.SecurityContext;
                var where = $"{name}/{container.Name}";
                Assert.True(security?.AllowPrivilegeEscalation == false, $"{where}: allowPrivilegeEscalation false");
                Assert.NotEqual(true, security?.Privileged);
                Assert.Equal(["ALL"], security?.Capabilities?.Drop ?? []);
                Assert.Empty(security?.Capabilities?.Add ?? []);
                Assert.True(security?.ReadOnlyRootFilesystem, $"{where}: read-only root filesystem");
                Assert.NotEqual(false, security?.RunAsNonRoot);
                Assert.All(container.Ports ?? [], p => Assert.Null(p.HostPort));
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void The_services_write_only_to_an_emptyDir_at_tmp(string overlay)
    {
        foreach (var service in Services)
        {
            var pod = Kustomize.Deployment(overlay, service).Spec.Template.Spec;
            var container = Assert.Single(pod.Containers);

            // The runtime's diagnostic socket (the profiler's EventPipe session) and temp files live there.
            var mount = Assert.Single(container.VolumeMounts ?? [], m => m.MountPath == "/tmp");
            var volume = Assert.Single(pod.Volumes ?? [], v => v.Name == mount.Name);
            Assert.NotNull(volume.EmptyDir);
            Assert.NotNull(volume.EmptyDir.SizeLimit);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Liveness_probes_alive_and_readiness_probes_health_on_the_http_port(string overlay)
    {
        foreach (var service in Services)
        {
            var container = Assert.Single(Kustomize.Deployment(overlay, service).Spec.Template.Spec.Containers);
            var port = Assert.Single(container.Ports, p => p.Name == "http");

            Assert.Equal(8080, port.ContainerPort);
            Assert.Equal("/alive", container.LivenessProbe?.HttpGet?.Path);
            Assert.Equal("/health", container.ReadinessProbe?.HttpGet?.Path);
            Assert.Equal("/alive", container.StartupProbe?.HttpGet?.Path);
            foreach (var probe in new[] { container.LivenessProbe!, container.ReadinessProbe!, container.StartupProbe! })
            {
                Assert.Equal("http", probe.HttpGet.Port.Value);
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_container_requests_and_is_limited_in_cpu_and_memory(string overlay)
    {
        foreach (var deployment in Kustomize.Objects<V1Deployment>(overlay))
        {
            foreach (var container in deployment.Spec.Template.Spec.Containers)
            {
                var resources = container.Resources;
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    var where = $"{deployment.Metadata.Name}/{container.Name} {resource}";
                    Assert.True(resources?.Requests?.ContainsKey(resource), $"{where}: no request");
                    Assert.True(resources?.Limits?.ContainsKey(resource), $"{where}: no limit");
                    Assert.True(resources!.Requests[resource].ToDecimal() <= resources.Limits[resource].ToDecimal(),
                        $"{where}: the request exceeds the limit");
                }
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_image_is_pinned_to_an_exact_version_or_digest_never_latest(string overlay)
    {
        var images = Kustomize.Objects<V1Deployment>(overlay)
            .SelectMany(d => d.Spec.Template.Spec.Containers.Concat(d.Spec.Template.Spec.InitContainers ?? []))
            .Select(c => c.Image)
            .ToList();

        Assert.NotEmpty(images);
        Assert.All(images, image => Assert.Matches(PinnedImage(), image));
    }

    [SkippableFact]
    public void Dev_runs_one_replica_each_and_its_own_Redis()
    {
        foreach (var service in Services)
        {
            Assert.Equal(1, Kustomize.Deployment("dev", service).Spec.Replicas);
            Assert.Equal("redis:6379", Environment("dev", service)["ConnectionStrings__redis"].Value);
        }

        var redis = Kustomize.Deployment("dev", "redis");
        Assert.Equal(1, redis.Spec.Replicas);
        Assert.Equal("Recreate", redis.Spec.Strategy.Type);
        var redisService = Assert.Single(Kustomize.Objects<V1Service>("dev"), s => s.Metadata.Name == "redis");
        Assert.Equal(6379, Assert.Single(redisService.Spec.Ports).Port);
    }

    [SkippableFact]
    public void Production_runs_at_least_two_replicas_each_on_an_external_Redis_from_a_Secret()
    {
        foreach (var service in Services)
        {
            Assert.True(Kustomize.Deployment("production", service).Spec.Replicas >= 2, $"{service}: fewer than 2 replicas");
            var redis = Environment("production", service)["ConnectionStrings__redis"];
            Assert.Null(redis.Value);
            Assert.Equal("obsstack-redis", redis.ValueFrom?.SecretKeyRef?.Name);
            Assert.NotEqual(true, redis.ValueFrom?.SecretKeyRef?.Optional);
        }

        Assert.DoesNotContain(Kustomize.Objects<V1Deployment>("production"), d => d.Metadata.Name == "redis");
        Assert.Empty(Kustomize.Objects<V1Secret>("production"));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_service_is_spread_over_nodes_and_a_drain_leaves_all_but_one_pod(string overlay)
    {
        var budgets = Kustomize.Objects<V1PodDisruptionBudget>(overlay).ToList();
        foreach (var service in Services)
        {
            var deployment = Kustomize.Deployment(overlay, service);
            var labels = deployment.Spec.Template.Metadata.Labels;
            var spread = Assert.Single(deployment.Spec.Template.Spec.TopologySpreadConstraints,
                c => c.TopologyKey == "kubernetes.io/hostname");
            Assert.Equal(1, spread.MaxSkew);
            Assert.Equal("DoNotSchedule", spread.WhenUnsatisfiable);
            Assert.True(Selects(spread.LabelSelector, labels), $"{service}: the spread counts other pods");

            var budget = Assert.Single(budgets, b => Selects(b.Spec.Selector, labels));
            Assert.Null(budget.Spec.MinAvailable);
            // One at a time: a drain never takes every replica and never blocks on a single one.
            Assert.Equal("1", budget.Spec.MaxUnavailable?.Value);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_Service_selects_pods_and_targets_a_port_they_name(string overlay)
    {
        var deployments = Kustomize.Objects<V1Deployment>(overlay).ToList();
        foreach (var service in Kustomize.Objects<V1Service>(overlay))
        {
            var target = Assert.Single(deployments, d => Selects(service.Spec.Selector, d.Spec.Template.Metadata.Labels));
            var ports = target.Spec.Template.Spec.Containers.SelectMany(c => c.Ports ?? []).Select(p => p.Name).ToHashSet();
            Assert.All(service.Spec.Ports, p => Assert.Contains(p.TargetPort.Value, ports));
            Assert.Equal(target.Metadata.Name, service.Metadata.Name);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void The_worker_stops_within_its_grace_period_and_the_host_margin_before_it_is_killed(string overlay)
    {
        var pod = Kustomize.Deployment(overlay, "worker").Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        var grace = TimeSpan.Parse(Environment(overlay, "worker")["WorkerPool__ShutdownGracePeriod"].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        var preStop = container.Lifecycle?.PreStop?.Sleep?.Seconds ?? 0;

        // The host stops 5 s after the pool's grace period (ObsStack.Worker/Extensions/Extensions.cs); the kubelet's
        // SIGKILL must come later still, or in-flight jobs are lost instead of finished or handed back.
        var needed = preStop + grace.TotalSeconds + 5;
        Assert.True(pod.TerminationGracePeriodSeconds > needed,
            $"terminationGracePeriodSeconds {pod.TerminationGracePeriodSeconds} must exceed {needed} s (preStop {preStop} s + grace {grace.TotalSeconds} s + 5 s).");
    }

    internal static Dictionary<string, V1EnvVar> Environment(string overlay, string service) =>
        Assert.Single(Kustomize.Deployment(overlay, service).Spec.Template.Spec.Containers).Env
            .ToDictionary(e => e.Name, StringComparer.Ordinal);

    private static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels) =>
        (selector.MatchExpressions ?? []).Count == 0
        && selector.MatchLabels.Count > 0
        && selector.MatchLabels.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);

    /// <summary>registry/name:tag with an exact version (1.2.3, v1.2.3, optionally with a suffix), or a digest.</summary>
    [GeneratedRegex(@"^[a-z0-9./_-]+(:v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$")]
    private static partial Regex PinnedImage();
}
