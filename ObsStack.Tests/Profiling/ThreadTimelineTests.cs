using System.Diagnostics;
using ObsStack.Profiling;

namespace ObsStack.Tests.Profiling;

public sealed class ThreadTimelineTests
{
    [Fact]
    public void Answers_which_span_a_thread_worked_for_at_a_given_instant()
    {
        long before = 0, duringA = 0, between = 0, duringB = 0;
        var timeline = OnFreshThread(() =>
        {
            before = Stopwatch.GetTimestamp();
            ThreadTimeline.Record(0xA);
            duringA = Stopwatch.GetTimestamp();
            ThreadTimeline.Record(0);
            between = Stopwatch.GetTimestamp();
            ThreadTimeline.Record(0xB);
            duringB = Stopwatch.GetTimestamp();
        });

        Assert.Equal(0, timeline.SpanAt(before));
        Assert.Equal(0xA, timeline.SpanAt(duringA));
        Assert.Equal(0, timeline.SpanAt(between));
        Assert.Equal(0xB, timeline.SpanAt(duringB));
        Assert.Equal(0xB, timeline.SpanAt(long.MaxValue));
    }

    [Fact]
    public void Instants_the_ring_no_longer_covers_get_no_answer_rather_than_a_wrong_one()
    {
        long early = 0, late = 0;
        var timeline = OnFreshThread(() =>
        {
            ThreadTimeline.Record(1);
            early = Stopwatch.GetTimestamp();
            for (var i = 0; i < ThreadTimeline.Capacity * 2; i++)
            {
                ThreadTimeline.Record(i % 2 == 0 ? 0 : 1000 + i);
            }

            ThreadTimeline.Record(42);
            late = Stopwatch.GetTimestamp();
        });

        Assert.Null(timeline.SpanAt(early));
        Assert.Equal(42, timeline.SpanAt(late));
    }

    [Fact]
    public void A_timeline_is_found_by_id_while_its_thread_lives_and_reported_dead_after()
    {
        using var release = new ManualResetEventSlim();
        using var recorded = new ManualResetEventSlim();
        var id = 0;
        var thread = new Thread(() =>
        {
            ThreadTimeline.Record(7);
            id = ThreadTimeline.CurrentId;
            recorded.Set();
            release.Wait();
        });
        thread.Start();
        recorded.Wait();

        var timeline = ThreadTimeline.Find(id);
        Assert.NotNull(timeline);
        Assert.True(timeline.IsLive);

        release.Set();
        thread.Join();
        Assert.False(timeline.IsLive);
    }

    /// <summary>Runs <paramref name="record"/> on a new thread (a new timeline) and returns that timeline.</summary>
    private static ThreadTimeline OnFreshThread(Action record)
    {
        ThreadTimeline? timeline = null;
        var thread = new Thread(() =>
        {
            record();
            // Held here: once its thread has ended, only this reference keeps the timeline from being collected.
            timeline = ThreadTimeline.Find(ThreadTimeline.CurrentId);
        });
        thread.Start();
        thread.Join();
        return timeline ?? throw new InvalidOperationException("no timeline was created");
    }
}
