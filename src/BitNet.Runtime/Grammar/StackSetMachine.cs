namespace BitNet.Runtime.Grammar;

/// <summary>
/// Runs a <see cref="CompiledGrammar"/> as a nondeterministic pushdown automaton over bytes, determinized lazily.
/// </summary>
/// <remarks>
/// A parse stack is a linked list of nodes (grammar position, parent node); the top node always sits on a terminal,
/// the nodes below hold return positions, and node 0 is the empty stack (the value is complete). Nodes are
/// hash-consed, so equal stacks are equal ids. A recognizer state is a sorted set of stack tops, also interned, and
/// the result of feeding a byte to a state is cached in a 256-wide transition row. Inside a JSON string almost every
/// byte maps a state to itself, so after warm-up walking a token trie costs one array read per trie edge. All the
/// tables grow by doubling and are kept for the life of the machine: no allocation once the states a sequence
/// visits have been seen.
/// </remarks>
internal sealed class StackSetMachine
{
    public const int Dead = 0;
    private const int Unknown = -1;
    private const int EmptyStack = 0;

    private readonly CompiledGrammar _grammar;

    // Stack nodes.
    private int[] _nodePos, _nodeParent, _nodeMin, _nodeVisit;
    private int _nodeCount;
    private int[] _nodeTable; // open addressing: node id + 1, 0 = free

    // States: sets of stack tops, items in one pool.
    private int[] _setItems;
    private int _setItemCount;
    private int[] _setStart, _setLength, _setMin;
    private byte[] _setFlags;
    private int _setCount;
    private int[] _setTable;
    private int[] _transitions; // state * 256 + byte -> state, Unknown until computed

    private int[] _scratch = new int[64];
    private int _scratchCount;
    private int _stamp;

    private const byte Accepting = 1, Continues = 2;

    public StackSetMachine(CompiledGrammar grammar)
    {
        _grammar = grammar;
        _nodePos = new int[256];
        _nodeParent = new int[256];
        _nodeMin = new int[256];
        _nodeVisit = new int[256];
        _nodeTable = new int[512];
        _nodeCount = 1; // node 0: the empty stack
        _nodePos[0] = CompiledGrammar.End;
        _nodeParent[0] = -1;
        _setItems = new int[1024];
        _setStart = new int[64];
        _setLength = new int[64];
        _setMin = new int[64];
        _setFlags = new byte[64];
        _setTable = new int[128];
        _transitions = new int[64 * 256];
        _setCount = 1; // state 0: dead, no stacks
        _setMin[0] = CompiledGrammar.Infinite;
        Array.Fill(_transitions, Dead, 0, 256);

        _stamp++;
        _scratchCount = 0;
        int root = grammar.RootRule;
        for (int a = grammar.RuleFirstAlt[root]; a < grammar.RuleFirstAlt[root + 1]; a++)
            Expand(grammar.AltStarts[a], EmptyStack);
        Initial = InternScratch();
    }

    private StackSetMachine(StackSetMachine other)
    {
        _grammar = other._grammar;
        _nodePos = (int[])other._nodePos.Clone();
        _nodeParent = (int[])other._nodeParent.Clone();
        _nodeMin = (int[])other._nodeMin.Clone();
        _nodeVisit = (int[])other._nodeVisit.Clone();
        _nodeCount = other._nodeCount;
        _nodeTable = (int[])other._nodeTable.Clone();
        _setItems = (int[])other._setItems.Clone();
        _setItemCount = other._setItemCount;
        _setStart = (int[])other._setStart.Clone();
        _setLength = (int[])other._setLength.Clone();
        _setMin = (int[])other._setMin.Clone();
        _setFlags = (byte[])other._setFlags.Clone();
        _setCount = other._setCount;
        _setTable = (int[])other._setTable.Clone();
        _transitions = (int[])other._transitions.Clone();
        _stamp = other._stamp;
        Initial = other.Initial;
    }

    /// <summary>The state before any byte.</summary>
    public int Initial { get; }

    /// <summary>Number of interned states (for diagnostics and tests).</summary>
    public int StateCount => _setCount;

    public StackSetMachine Clone() => new(this);

    /// <summary>The state after <paramref name="b"/>, or <see cref="Dead"/> when no parse accepts it.</summary>
    public int Next(int state, byte b)
    {
        int next = _transitions[state * 256 + b];
        if (next != Unknown) return next;
        next = Step(state, b);
        // Every byte of b's class has the same successor: fill them all, so the class costs one step.
        byte[] nextInClass = _grammar.NextInClass;
        int row = state * 256;
        int member = b;
        do
        {
            _transitions[row + member] = next;
            member = nextInClass[member];
        } while (member != b);
        return next;
    }

    /// <summary>The state after all of <paramref name="bytes"/>, or <see cref="Dead"/>.</summary>
    public int Run(int state, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            state = Next(state, b);
            if (state == Dead) return Dead;
        }
        return state;
    }

    /// <summary>The bytes read so far form a complete value.</summary>
    public bool IsAccepting(int state) => (_setFlags[state] & Accepting) != 0;

    /// <summary>Some byte can still follow.</summary>
    public bool CanContinue(int state) => (_setFlags[state] & Continues) != 0;

    /// <summary>Fewest bytes that complete the value from <paramref name="state"/>.</summary>
    public int MinBytesToComplete(int state) => _setMin[state];

    /// <summary>Read-only view of the transition table, for the trie walk's inlined fast path.</summary>
    public int[] Transitions => _transitions;

    public int[] StateMinBytes => _setMin;

    private int Step(int state, byte b)
    {
        _stamp++;
        _scratchCount = 0;
        int start = _setStart[state], end = start + _setLength[state];
        for (int i = start; i < end; i++)
        {
            int node = _setItems[i];
            if (node == EmptyStack) continue;
            int pos = _nodePos[node];
            if (_grammar.TerminalMatches(_grammar.Elements[pos], b)) Expand(pos + 1, _nodeParent[node]);
        }
        return _scratchCount == 0 ? Dead : InternScratch();
    }

    /// <summary>
    /// Adds to the scratch list every stack top reachable without reading a byte from "continue at
    /// <paramref name="pos"/> with <paramref name="parent"/> below": rule references push their return position
    /// (skipped when it is the end of the alternative: a tail call) and fan out into the rule's alternatives; the end
    /// of an alternative pops. Visit stamps stop epsilon cycles such as (a*)*.
    /// </summary>
    private void Expand(int pos, int parent)
    {
        int[] elements = _grammar.Elements;
        while (true)
        {
            int e = elements[pos];
            if (e != CompiledGrammar.End) break;
            if (parent == EmptyStack)
            {
                if (_nodeVisit[EmptyStack] != _stamp)
                {
                    _nodeVisit[EmptyStack] = _stamp;
                    AddScratch(EmptyStack);
                }
                return;
            }
            pos = _nodePos[parent];
            parent = _nodeParent[parent];
        }
        int node = Intern(pos, parent);
        if (_nodeVisit[node] == _stamp) return;
        _nodeVisit[node] = _stamp;
        int symbol = elements[pos];
        if (symbol >= 0)
        {
            AddScratch(node);
            return;
        }
        int rule = -symbol - 2;
        int below = elements[pos + 1] == CompiledGrammar.End ? parent : Intern(pos + 1, parent);
        int[] altStarts = _grammar.AltStarts;
        for (int a = _grammar.RuleFirstAlt[rule]; a < _grammar.RuleFirstAlt[rule + 1]; a++)
            Expand(altStarts[a], below);
    }

    private void AddScratch(int node)
    {
        if (_scratchCount == _scratch.Length) Array.Resize(ref _scratch, _scratch.Length * 2);
        _scratch[_scratchCount++] = node;
    }

    private int Intern(int pos, int parent)
    {
        uint hash = Hash((uint)pos, (uint)parent);
        int mask = _nodeTable.Length - 1;
        int slot = (int)(hash & (uint)mask);
        while (true)
        {
            int entry = _nodeTable[slot];
            if (entry == 0) break;
            int id = entry - 1;
            if (_nodePos[id] == pos && _nodeParent[id] == parent) return id;
            slot = (slot + 1) & mask;
        }
        if (_nodeCount == _nodePos.Length)
        {
            int size = _nodePos.Length * 2;
            Array.Resize(ref _nodePos, size);
            Array.Resize(ref _nodeParent, size);
            Array.Resize(ref _nodeMin, size);
            Array.Resize(ref _nodeVisit, size);
        }
        int node = _nodeCount++;
        _nodePos[node] = pos;
        _nodeParent[node] = parent;
        _nodeMin[node] = Math.Min(CompiledGrammar.Infinite, _grammar.MinRest[pos] + _nodeMin[parent]);
        _nodeVisit[node] = 0;
        _nodeTable[slot] = node + 1;
        if (_nodeCount * 2 > _nodeTable.Length) RehashNodes();
        return node;
    }

    private void RehashNodes()
    {
        _nodeTable = new int[_nodeTable.Length * 2];
        int mask = _nodeTable.Length - 1;
        for (int id = 0; id < _nodeCount; id++)
        {
            int slot = (int)(Hash((uint)_nodePos[id], (uint)_nodeParent[id]) & (uint)mask);
            while (_nodeTable[slot] != 0) slot = (slot + 1) & mask;
            _nodeTable[slot] = id + 1;
        }
    }

    private int InternScratch()
    {
        Span<int> items = _scratch.AsSpan(0, _scratchCount);
        items.Sort();
        uint hash = 2166136261;
        foreach (int item in items) hash = (hash ^ (uint)item) * 16777619;
        int mask = _setTable.Length - 1;
        int slot = (int)(hash & (uint)mask);
        while (true)
        {
            int entry = _setTable[slot];
            if (entry == 0) break;
            int id = entry - 1;
            if (_setItems.AsSpan(_setStart[id], _setLength[id]).SequenceEqual(items)) return id;
            slot = (slot + 1) & mask;
        }
        if (_setItemCount + items.Length > _setItems.Length)
            Array.Resize(ref _setItems, Math.Max(_setItems.Length * 2, _setItemCount + items.Length));
        if (_setCount == _setStart.Length)
        {
            int size = _setStart.Length * 2;
            Array.Resize(ref _setStart, size);
            Array.Resize(ref _setLength, size);
            Array.Resize(ref _setMin, size);
            Array.Resize(ref _setFlags, size);
            Array.Resize(ref _transitions, size * 256);
        }
        int state = _setCount++;
        items.CopyTo(_setItems.AsSpan(_setItemCount));
        _setStart[state] = _setItemCount;
        _setLength[state] = items.Length;
        _setItemCount += items.Length;
        int min = CompiledGrammar.Infinite;
        byte flags = 0;
        foreach (int node in items)
        {
            min = Math.Min(min, _nodeMin[node]);
            flags |= node == EmptyStack ? Accepting : Continues;
        }
        _setMin[state] = min;
        _setFlags[state] = flags;
        _transitions.AsSpan(state * 256, 256).Fill(Unknown);
        _setTable[slot] = state + 1;
        if (_setCount * 2 > _setTable.Length) RehashSets();
        return state;
    }

    private void RehashSets()
    {
        _setTable = new int[_setTable.Length * 2];
        int mask = _setTable.Length - 1;
        for (int id = 1; id < _setCount; id++)
        {
            uint hash = 2166136261;
            foreach (int item in _setItems.AsSpan(_setStart[id], _setLength[id])) hash = (hash ^ (uint)item) * 16777619;
            int slot = (int)(hash & (uint)mask);
            while (_setTable[slot] != 0) slot = (slot + 1) & mask;
            _setTable[slot] = id + 1;
        }
    }

    private static uint Hash(uint a, uint b)
    {
        ulong h = (a * 0x9E3779B97F4A7C15UL) ^ (b + 0x632BE59BD9B4E019UL) * 0xC2B2AE3D27D4EB4FUL;
        return (uint)(h ^ (h >> 29));
    }
}
