namespace ObsStack.Profiling;

/// <summary>Everything one profile of one type holds for one upload interval.</summary>
internal sealed record ProfileSnapshot(
    ProfileType Type,
    DateTimeOffset Start,
    TimeSpan Duration,
    IReadOnlyList<ProfileSample> Samples);
