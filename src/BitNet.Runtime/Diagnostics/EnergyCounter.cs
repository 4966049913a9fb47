using System.Globalization;

namespace BitNet.Runtime.Diagnostics;

/// <summary>
/// The CPU packages' cumulative energy from Linux powercap (RAPL: <c>/sys/class/powercap/intel-rapl:N/energy_uj</c>,
/// which AMD Zen exposes under the same name), summed over packages. Only readable files are used; where there are
/// none (VMs, containers, macOS, Windows, kernels that restrict the counters to root) <see cref="TryOpen"/> says why.
/// </summary>
public sealed class EnergyCounter
{
    private readonly (string Path, double RangeUj)[] _zones;
    private readonly double[] _last;
    private double _joules;

    private EnergyCounter((string, double)[] zones)
    {
        _zones = zones;
        _last = new double[zones.Length];
        for (int i = 0; i < zones.Length; i++) _last[i] = ReadUj(zones[i].Item1);
    }

    /// <summary>Opens the package counters, or returns null with the reason in <paramref name="unavailable"/>.</summary>
    public static EnergyCounter? TryOpen(out string unavailable, string root = "/sys/class/powercap")
    {
        unavailable = "";
        try
        {
            if (!Directory.Exists(root)) { unavailable = $"not available ({root} does not exist)"; return null; }
            var zones = new List<(string, double)>();
            foreach (var dir in Directory.GetDirectories(root, "intel-rapl:*").Order(StringComparer.Ordinal))
            {
                if (Path.GetFileName(dir).Count(c => c == ':') != 1) continue;      // packages only, not their sub-zones
                string energy = Path.Combine(dir, "energy_uj"), range = Path.Combine(dir, "max_energy_range_uj");
                if (!File.Exists(energy)) continue;
                ReadUj(energy);                                                     // throws when unreadable
                zones.Add((energy, File.Exists(range) ? ReadUj(range) : double.MaxValue));
            }
            if (zones.Count == 0) { unavailable = "not available (no RAPL package zone under /sys/class/powercap)"; return null; }
            return new EnergyCounter(zones.ToArray());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            unavailable = $"not available ({e.GetType().Name}: {e.Message})";
            return null;
        }
    }

    /// <summary>Joules consumed by the packages since the counter was opened (wrap-arounds handled).</summary>
    public double Joules()
    {
        for (int i = 0; i < _zones.Length; i++)
        {
            double now = ReadUj(_zones[i].Path), delta = now - _last[i];
            if (delta < 0) delta += _zones[i].RangeUj;                              // the counter wrapped
            _joules += delta / 1e6;
            _last[i] = now;
        }
        return _joules;
    }

    private static double ReadUj(string path) => double.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
}
