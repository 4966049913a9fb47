using System.Text;
using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Tests.Sampling;

public class StopStringMatcherTests
{
    /// <summary>Pushes each piece and returns everything emitted, Flush included unless stopped.</summary>
    private static (string Emitted, bool Stopped) Run(StopStringMatcher matcher, IEnumerable<string> pieces)
    {
        var emitted = new StringBuilder();
        foreach (string piece in pieces)
        {
            var result = matcher.Push(piece);
            emitted.Append(result.Text);
            Assert.True(matcher.HeldLength <= Math.Max(matcher.MaxStopLength - 1, 0), "held more than the longest stop can need");
            if (result.Stopped) return (emitted.ToString(), true);
        }
        return (emitted.Append(matcher.Flush()).ToString(), false);
    }

    private static IEnumerable<string> Chars(string text) => text.Select(c => c.ToString());

    /// <summary>
    /// Reference: read the text left to right; at the first position where some stop string ends, cut before the
    /// longest one ending there (the one that starts first).
    /// </summary>
    private static (string Truncated, bool Stopped) Reference(string text, string[] stops)
    {
        for (int end = 1; end <= text.Length; end++)
        {
            int best = -1;
            foreach (string stop in stops)
                if (stop.Length <= end && text.AsSpan(0, end).EndsWith(stop) && stop.Length > best) best = stop.Length;
            if (best >= 0) return (text[..(end - best)], true);
        }
        return (text, false);
    }

    [Fact]
    public void StopSplitAcrossManyPushes_IsFoundAndNeverEmitted()
    {
        var matcher = new StopStringMatcher(["<|end|>"]);
        var (emitted, stopped) = Run(matcher, Chars("Hello <|end|> world"));
        Assert.True(stopped);
        Assert.Equal("Hello ", emitted);
        Assert.Equal("<|end|>", matcher.MatchedStop);
    }

    [Fact]
    public void OverlappingPrefixes_StopAtTheFirstCompletion()
    {
        var matcher = new StopStringMatcher(["ab", "abc"]);
        Assert.Equal(new StopStringResult("x", false), matcher.Push("x"));
        Assert.Equal(new StopStringResult("", false), matcher.Push("a"));     // could start "ab"
        Assert.Equal(new StopStringResult("a", false), matcher.Push("a"));    // the first 'a' cannot any more
        Assert.Equal(new StopStringResult("", true), matcher.Push("b"));
        Assert.Equal("ab", matcher.MatchedStop);
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void WholeTextInOnePush_GivesTheSameCut()
    {
        var matcher = new StopStringMatcher(["ab", "abc"]);
        Assert.Equal(new StopStringResult("xa", true), matcher.Push("xaabc tail"));
    }

    [Fact]
    public void ShorterStopCompletingFirst_Wins_AndSameEnd_PrefersTheEarlierStart()
    {
        Assert.Equal(new StopStringResult("a", true), new StopStringMatcher(["abc", "b"]).Push("abc"));
        Assert.Equal(new StopStringResult("", true), new StopStringMatcher(["bc", "abc"]).Push("abc"));
    }

    [Fact]
    public void HoldsOnlyWhatCouldStartAStop()
    {
        var matcher = new StopStringMatcher(["abc"]);
        Assert.Equal("xyz", matcher.Push("xyzab").Text);
        Assert.Equal(2, matcher.HeldLength);
        Assert.Equal("abd", matcher.Push("d").Text);
        Assert.Equal(0, matcher.HeldLength);
        Assert.Equal("hello world", matcher.Push("hello world").Text);   // no 'a' at the end: nothing held
        Assert.Equal("", matcher.Push("a").Text);
        Assert.Equal("a", matcher.Flush());
        Assert.False(matcher.Stopped);
    }

    [Fact]
    public void EmptyStopList_PassesEverythingThrough()
    {
        var matcher = new StopStringMatcher([]);
        Assert.Equal(new StopStringResult("<|eot_id|> anything", false), matcher.Push("<|eot_id|> anything"));
        Assert.Equal(0, matcher.HeldLength);
        Assert.Equal("", matcher.Flush());
        Assert.Equal(new StopStringResult("more", false), new StopStringMatcher(null).Push("more"));
    }

    [Fact]
    public void AfterAStop_NothingMoreIsEmitted()
    {
        var matcher = new StopStringMatcher(["\nUser:"]);
        Assert.Equal(new StopStringResult("Sure.", true), matcher.Push("Sure.\nUser: more"));
        Assert.Equal(new StopStringResult("", true), matcher.Push("again"));
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void EmptyOrNullStopString_IsRejected()
    {
        Assert.Throws<ArgumentException>(() => new StopStringMatcher(["ok", ""]));
        Assert.Throws<ArgumentException>(() => new StopStringMatcher(["ok", null!]));
    }

    [Fact]
    public void RandomTextsStopsAndSplits_EmitExactlyTheTextTruncatedAtTheFirstStop()
    {
        var random = new Random(12345);
        const string alphabet = "ab c";
        string RandomString(int min, int max)
        {
            var chars = new char[random.Next(min, max + 1)];
            for (int i = 0; i < chars.Length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
            return new string(chars);
        }

        int stoppedCases = 0;
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            var stops = new string[random.Next(0, 4)];
            for (int i = 0; i < stops.Length; i++) stops[i] = RandomString(1, 4);
            string text = RandomString(0, 40);

            var pieces = new List<string>();
            for (int start = 0; start < text.Length;)
            {
                int length = Math.Min(random.Next(0, 6), text.Length - start);
                pieces.Add(text.Substring(start, length));
                start += length;
            }

            var expected = Reference(text, stops);
            var actual = Run(new StopStringMatcher(stops), pieces);
            Assert.True(expected == actual,
                $"stops [{string.Join("|", stops)}], pieces [{string.Join("|", pieces)}]: expected {expected}, got {actual}");
            if (expected.Stopped) stoppedCases++;
        }
        Assert.True(stoppedCases > 500, "the random cases should exercise stops often");
    }
}
