namespace BitNet.Runtime.Threading;

/// <summary>A unit of parallel work: <see cref="Execute"/> is called once for every index of a run.</summary>
public interface IParallelWork
{
    void Execute(int index);
}

/// <summary>
/// A persistent pool of worker threads for the engine's parallel loops. The calling thread takes part, a run
/// allocates nothing, and idle workers spin briefly (the next layer's matmul usually follows within microseconds)
/// before sleeping. One run at a time: the engine loop is the only caller.
/// </summary>
/// <remarks>
/// A run is published as one 64-bit state word: generation (24 bits) | count (20 bits) | next index (20 bits).
/// Claiming an index is a CAS on that word, so a worker that wakes late can never claim an index of a run it did
/// not observe, and no index is executed twice.
/// </remarks>
public sealed class WorkerPool : IDisposable
{
    private const int CountBits = 20;
    private const long IndexMask = (1L << CountBits) - 1;
    public const int MaxWorkItems = (int)IndexMask;

    private readonly Thread[] _threads;
    private readonly object _sleepLock = new();
    private long _state;
    private IParallelWork? _work;
    private int _completed;
    private int _sleepers;
    private volatile bool _stopping;
    private Exception? _error;

    public WorkerPool(int threadCount)
    {
        if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount, "at least one thread is needed");
        ThreadCount = threadCount;
        _threads = new Thread[threadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"bitnet-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that execute work, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>Default thread count: the processor count (SMT siblings share the memory bus, so this is an upper bound).</summary>
    public static int DefaultThreadCount => Math.Max(1, Environment.ProcessorCount);

    /// <summary>Runs <paramref name="work"/> for indices 0..count-1 on all threads and returns when every index is done.</summary>
    public void Run(IParallelWork work, int count)
    {
        if (count <= 0) return;
        if (count > MaxWorkItems) throw new ArgumentOutOfRangeException(nameof(count), count, $"at most {MaxWorkItems} items per run");
        if (_threads.Length == 0 || count == 1)
        {
            for (int i = 0; i < count; i++) work.Execute(i);
            return;
        }

        _work = work;
        _completed = 0;
        _error = null;
        long gen = (Gen(Volatile.Read(ref _state)) + 1) & 0xFFFFFF;
        Interlocked.Exchange(ref _state, (gen << (2 * CountBits)) | ((long)count << CountBits));
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_sleepLock) Monitor.PulseAll(_sleepLock);

        Drain(gen);
        var spin = new SpinWait();
        while (Volatile.Read(ref _completed) < count) spin.SpinOnce(sleep1Threshold: -1);
        _work = null;
        if (_error is { } e) throw new AggregateException("a parallel work item failed", e);
    }

    private static long Gen(long state) => state >>> (2 * CountBits);

    private void Drain(long gen)
    {
        while (true)
        {
            long s = Volatile.Read(ref _state);
            if (Gen(s) != gen) return;
            long count = (s >> CountBits) & IndexMask;
            long next = s & IndexMask;
            if (next >= count) return;
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s) continue;
            try
            {
                _work!.Execute((int)next);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Interlocked.Increment(ref _completed);
        }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (!_stopping)
        {
            long gen = Gen(Volatile.Read(ref _state));
            if (gen != seen)
            {
                seen = gen;
                Drain(gen);
                continue;
            }
            // Spin a little: during a forward pass the next run starts within microseconds.
            bool woke = false;
            for (int i = 0; i < 4000 && !woke; i++)
            {
                Thread.SpinWait(20);
                woke = Gen(Volatile.Read(ref _state)) != seen || _stopping;
            }
            if (woke) continue;
            lock (_sleepLock)
            {
                Interlocked.Increment(ref _sleepers);
                while (!_stopping && Gen(Volatile.Read(ref _state)) == seen)
                    Monitor.Wait(_sleepLock);
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_sleepLock) Monitor.PulseAll(_sleepLock);
        foreach (var t in _threads) t.Join();
    }
}
