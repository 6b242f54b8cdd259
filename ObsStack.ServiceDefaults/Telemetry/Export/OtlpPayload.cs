namespace ObsStack.ServiceDefaults.Telemetry.Export;

/// <summary>
/// Counts the items (spans, log records, metrics) in an OTLP export request without decoding it. All three requests
/// share one shape: <c>Export*ServiceRequest { repeated Resource* = 1 }</c>, <c>Resource* { repeated Scope* = 2 }</c>,
/// <c>Scope* { repeated item = 2 }</c>. Hand-written because the generated OTLP types are not in any served package;
/// OtlpPayloadTests checks every request shape, ExportBoundsTests the count against what a second destination received.
/// </summary>
internal static class OtlpPayload
{
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    public static long CountItems(ReadOnlySpan<byte> request)
    {
        long items = 0;
        var resources = new FieldReader(request, 1);
        while (resources.Next(out var resource))
        {
            var scopes = new FieldReader(resource, 2);
            while (scopes.Next(out var scope))
            {
                var entries = new FieldReader(scope, 2);
                while (entries.Next(out _))
                {
                    items++;
                }
            }
        }

        return items;
    }

    /// <summary>Yields the payloads of one length-delimited field number, skipping every other field.</summary>
    private ref struct FieldReader(ReadOnlySpan<byte> message, int fieldNumber)
    {
        private ReadOnlySpan<byte> _rest = message;

        public bool Next(out ReadOnlySpan<byte> payload)
        {
            while (!_rest.IsEmpty)
            {
                var tag = ReadVarint(ref _rest);
                var (number, wireType) = ((int)(tag >> 3), (int)(tag & 7));
                switch (wireType)
                {
                    case WireVarint:
                        ReadVarint(ref _rest);
                        break;
                    case WireFixed64:
                        _rest = _rest[Math.Min(8, _rest.Length)..];
                        break;
                    case WireFixed32:
                        _rest = _rest[Math.Min(4, _rest.Length)..];
                        break;
                    case WireLengthDelimited:
                        var length = (int)Math.Min(ReadVarint(ref _rest), (ulong)_rest.Length);
                        var field = _rest[..length];
                        _rest = _rest[length..];
                        if (number == fieldNumber)
                        {
                            payload = field;
                            return true;
                        }

                        break;
                    default:
                        // Not OTLP (groups are not used by it): stop rather than guess.
                        _rest = default;
                        break;
                }
            }

            payload = default;
            return false;
        }

        private static ulong ReadVarint(ref ReadOnlySpan<byte> data)
        {
            ulong value = 0;
            for (var shift = 0; !data.IsEmpty && shift < 64; shift += 7)
            {
                var b = data[0];
                data = data[1..];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    break;
                }
            }

            return value;
        }
    }
}
