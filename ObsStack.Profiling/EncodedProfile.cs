namespace ObsStack.Profiling;

/// <summary>A gzip-compressed pprof profile ready to push.</summary>
internal sealed record EncodedProfile(ProfileType Type, byte[] GzippedPprof);
