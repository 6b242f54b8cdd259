using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

public sealed class JobIdsTests
{
    [Fact]
    public void A_batch_gets_distinct_version_7_ids_carrying_the_submission_time()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = JobIds.New(100, now);

        Assert.Equal(100, ids.Distinct().Count());
        Assert.All(ids, id =>
        {
            Assert.Equal(7, id.Version);
            // RFC 9562 variant: the top two bits of byte 8 are 10.
            Assert.Equal(0b10, id.ToByteArray(bigEndian: true)[8] >> 6);
            var milliseconds = BitConverter.ToInt64([.. id.ToByteArray(bigEndian: true)[..6].Reverse(), 0, 0]);
            Assert.Equal(now.ToUnixTimeMilliseconds(), milliseconds);
        });
    }

    [Fact]
    public void Ids_are_random_beyond_the_timestamp_and_large_batches_work()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = JobIds.New(1000, now);

        Assert.Equal(1000, ids.Select(id => id.ToString()[^12..]).Distinct().Count());
        Assert.Empty(JobIds.New(0, now));
    }
}
