using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace ObsStack.Worker.Jobs;

public enum EnqueueOutcome
{
    Accepted,
    QueueFull,
    ShuttingDown,
    /// <summary>The shared engine (Redis) could not be reached within <see cref="WorkerPoolOptions.EngineTimeout"/>.</summary>
    Unavailable,
}

/// <summary>
/// The bounded queue between intake and the pool. A batch is accepted whole or not at all, so a client never has
/// to guess which of its URLs were taken.
/// </summary>
public sealed class JobQueue
{
    private readonly Channel<Job> _channel;
    private readonly Lock _gate = new();
    private bool _closed;

    public JobQueue(IOptions<WorkerPoolOptions> options)
    {
        Capacity = options.Value.QueueCapacity;
        _channel = Channel.CreateBounded<Job>(new BoundedChannelOptions(Capacity)
        {
            // Wait, not DropOldest/DropNewest: the channel itself must never discard an accepted job. Writers never
            // actually wait, because TryEnqueue checks for room under a lock before writing.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    public int Capacity { get; }

    /// <summary>Jobs waiting for a worker, read at collection time by <c>jobs_queue_depth</c>.</summary>
    public int Count => _channel.Reader.Count;

    public ChannelReader<Job> Reader => _channel.Reader;

    /// <summary>
    /// Queues the whole batch or none of it. <paramref name="onAccepted"/> runs for each job of an accepted batch just
    /// before it becomes readable, so the store holds a job before any worker can take it, and a refused batch is never
    /// stored at all.
    /// </summary>
    public EnqueueOutcome TryEnqueue(IReadOnlyList<Job> jobs, Action<Job> onAccepted)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return EnqueueOutcome.ShuttingDown;
            }

            // Readers only ever make room, so room seen here is still there for every write below.
            if (Capacity - _channel.Reader.Count < jobs.Count)
            {
                return EnqueueOutcome.QueueFull;
            }

            foreach (var job in jobs)
            {
                onAccepted(job);
                if (!_channel.Writer.TryWrite(job))
                {
                    throw new InvalidOperationException("The job queue refused a write it had room for.");
                }
            }

            return EnqueueOutcome.Accepted;
        }
    }

    /// <summary>Stops intake: later batches get <see cref="EnqueueOutcome.ShuttingDown"/>; queued jobs stay readable.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _channel.Writer.TryComplete();
        }
    }
}
