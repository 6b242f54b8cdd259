using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ObsStack.Worker.Jobs;

/// <summary>
/// Ids for a batch of jobs: UUID version 7 (time-ordered, as <see cref="Guid.CreateVersion7()"/> makes them) with the
/// random part of the whole batch taken from one read of the system's secure random source. On Linux
/// <see cref="Guid.CreateVersion7()"/> reads <c>/dev/urandom</c> once per id: a system call per job (strace of the reach
/// benchmark's worker: one read per job; JobIdsTests checks the format).
/// </summary>
public static class JobIds
{
    public static Guid[] New(int count, DateTimeOffset now)
    {
        var ids = new Guid[count];
        Span<byte> random = count <= 64 ? stackalloc byte[count * 16] : new byte[count * 16];
        RandomNumberGenerator.Fill(random);
        Span<byte> time = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(time, now.ToUnixTimeMilliseconds());
        for (var i = 0; i < count; i++)
        {
            var bytes = random.Slice(i * 16, 16);
            // RFC 9562 §5.7: 48-bit Unix milliseconds, big-endian; version 7; variant 10; the rest random.
            time[2..].CopyTo(bytes);
            bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
            bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
            ids[i] = new Guid(bytes, bigEndian: true);
        }

        return ids;
    }
}
