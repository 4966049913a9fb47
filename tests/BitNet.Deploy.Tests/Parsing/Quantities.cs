using System.Globalization;
using System.Text.RegularExpressions;

namespace BitNet.Deploy.Tests.Parsing;

/// <summary>Byte sizes as Docker Compose and Kubernetes write them, and compose's ${VAR:-default} interpolation.</summary>
internal static partial class Quantities
{
    /// <summary>Compose byte values: a number with an optional b, k/kb, m/mb, g/gb suffix (powers of 1024).</summary>
    public static long ComposeBytes(string text)
    {
        var m = ComposeSize().Match(text.Trim().ToLowerInvariant());
        if (!m.Success) throw new FormatException($"'{text}' is not a compose byte value such as 512m or 3g");
        double number = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        long unit = m.Groups["u"].Value switch { "" or "b" => 1, "k" or "kb" => 1L << 10, "m" or "mb" => 1L << 20, _ => 1L << 30 };
        return (long)(number * unit);
    }

    /// <summary>Kubernetes memory quantities: plain bytes, binary (Ki, Mi, Gi, Ti) or decimal (k, M, G, T) suffixes.</summary>
    public static long KubernetesBytes(string text)
    {
        var m = KubernetesSize().Match(text.Trim());
        if (!m.Success) throw new FormatException($"'{text}' is not a Kubernetes memory quantity such as 4Gi");
        double number = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        double unit = m.Groups["u"].Value switch
        {
            "" => 1, "Ki" => 1L << 10, "Mi" => 1L << 20, "Gi" => 1L << 30, "Ti" => 1L << 40,
            "k" => 1e3, "M" => 1e6, "G" => 1e9, "T" => 1e12, var u => throw new FormatException($"unit '{u}' in '{text}'"),
        };
        return (long)(number * unit);
    }

    /// <summary>Kubernetes CPU quantities in cores ("4", "500m").</summary>
    public static double KubernetesCores(string text) =>
        text.EndsWith('m') ? double.Parse(text[..^1], CultureInfo.InvariantCulture) / 1000 : double.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>
    /// The value compose uses when none of the referenced variables is set: ${VAR:-default} and ${VAR-default}
    /// give the default, ${VAR} and $VAR give "".
    /// </summary>
    public static string ComposeDefault(string text) =>
        ComposeVariable().Replace(text, m => m.Groups["default"].Success ? m.Groups["default"].Value : "");

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d+)?)(?<u>b|kb?|mb?|gb?)?$")]
    private static partial Regex ComposeSize();

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d+)?)(?<u>Ki|Mi|Gi|Ti|k|M|G|T)?$")]
    private static partial Regex KubernetesSize();

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?::?-)(?<default>[^}]*))?\}|\$(?<bare>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ComposeVariable();
}
