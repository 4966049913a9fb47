using BitNet.Runtime.Diagnostics;

namespace BitNet.Runtime.Tests.Diagnostics;

public sealed class EnergyCounterTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bitnet-powercap-" + Guid.NewGuid().ToString("N"));

    private void Zone(string name, long energyUj, long rangeUj)
    {
        Directory.CreateDirectory(Path.Combine(_root, name));
        File.WriteAllText(Path.Combine(_root, name, "energy_uj"), energyUj + "\n");
        File.WriteAllText(Path.Combine(_root, name, "max_energy_range_uj"), rangeUj + "\n");
    }

    [Fact]
    public void SumsPackagesIgnoresSubZonesAndHandlesWrapAround()
    {
        Zone("intel-rapl:0", 1_000_000, 10_000_000);
        Zone("intel-rapl:1", 500_000, 10_000_000);
        Zone("intel-rapl:0:0", 42, 10_000_000);   // a core sub-zone of package 0: counted inside it already
        var counter = EnergyCounter.TryOpen(out string why, _root);
        Assert.NotNull(counter);
        Assert.Equal("", why);
        Assert.Equal(0, counter.Joules(), 9);

        File.WriteAllText(Path.Combine(_root, "intel-rapl:0", "energy_uj"), "3000000");     // +2 J
        File.WriteAllText(Path.Combine(_root, "intel-rapl:1", "energy_uj"), "200000");      // wrapped: +9.7 J
        File.WriteAllText(Path.Combine(_root, "intel-rapl:0:0", "energy_uj"), "999999999");
        Assert.Equal(11.7, counter.Joules(), 6);
    }

    [Fact]
    public void SaysWhyWhenThereAreNoCounters()
    {
        Assert.Null(EnergyCounter.TryOpen(out string missing, _root));
        Assert.StartsWith("not available", missing);
        Directory.CreateDirectory(_root);
        Assert.Null(EnergyCounter.TryOpen(out string empty, _root));
        Assert.Contains("no RAPL package zone", empty);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
