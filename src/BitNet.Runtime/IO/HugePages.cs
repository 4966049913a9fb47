using System.Globalization;
using System.Runtime.InteropServices;

namespace BitNet.Runtime.IO;

/// <summary>
/// Whether a model file is worth reading into transparent huge pages instead of being mapped. Decode reads every
/// weight once per token, so with 4 KB pages a 1.2 GB model touches 300,000 pages per token, far more than the TLB
/// holds: each page costs a page walk. In 2 MB pages that is 600 (batch-1 decode on the 2B4T shape: README,
/// Benchmarks). Linux maps files in 4 KB pages, but gives anonymous memory marked <c>MADV_HUGEPAGE</c> 2 MB pages, so
/// the file is read into such memory.
/// </summary>
public static class HugePages
{
    /// <summary>The mode in /sys/kernel/mm/transparent_hugepage/enabled ("always", "madvise", "never"), null elsewhere.</summary>
    public static string? TransparentMode()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            return ParseMode(File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether the kernel gives huge pages to memory that asks for them (THP mode "always" or "madvise").</summary>
    public static bool Offered(string? mode) => mode is "always" or "madvise";

    /// <summary>The bracketed choice of a sysfs list: "always [madvise] never" is "madvise".</summary>
    internal static string? ParseMode(string text)
    {
        int open = text.IndexOf('['), close = text.IndexOf(']');
        return open >= 0 && close > open ? text[(open + 1)..close] : null;
    }

    /// <summary>
    /// Memory this process may still take, in bytes: MemAvailable of /proc/meminfo, or less inside a cgroup (v2) whose
    /// memory.max leaves less (a container with a memory limit sees the host's MemAvailable); null where unknown.
    /// </summary>
    public static long? AvailableMemory()
    {
        if (!OperatingSystem.IsLinux() || Kilobytes("/proc/meminfo", "MemAvailable:") is not long available) return null;
        try
        {
            return CgroupRoom(ReadOrNull("/sys/fs/cgroup/memory.max"), ReadOrNull("/sys/fs/cgroup/memory.current")) is long room
                ? Math.Min(available, room)
                : available;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return available;
        }
    }

    /// <summary>The "Key:   N kB" line of a /proc file, in bytes; null where the file or the key is missing.</summary>
    private static long? Kilobytes(string path, string key)
    {
        try
        {
            foreach (string line in File.ReadLines(path))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }

    /// <summary>memory.max - memory.current of a cgroup, null without a limit ("max" or no files).</summary>
    internal static long? CgroupRoom(string? max, string? current) =>
        long.TryParse(max?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long limit)
        && long.TryParse(current?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long used)
            ? Math.Max(0, limit - used)
            : null;

    private static string? ReadOrNull(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    /// <summary>
    /// Read rather than map: only where the OS gives huge pages on request, and only while the copy takes at most half
    /// of the available memory. A mapped file's pages can be dropped and read again under memory pressure; a copy
    /// cannot (without swap), so on a machine the model barely fits (a Raspberry Pi with a large model) it stays mapped.
    /// </summary>
    internal static bool Worthwhile(long fileBytes, string? mode, long? availableBytes) =>
        Offered(mode) && availableBytes is long available && fileBytes <= available / 2;

    // Linux (x86-64 and arm64 share these values).
    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20, MadvHugePage = 14;

    /// <summary>Bytes of one huge page (2 MB on x86-64 and on arm64 with 4 KB base pages).</summary>
    internal const long Size = 2 << 20;

    [DllImport("libc", SetLastError = true)]
    private static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc")]
    private static extern int madvise(nint address, nuint length, int advice);

    [DllImport("libc")]
    private static extern int munmap(nint address, nuint length);

    /// <summary>
    /// Anonymous memory of at least <paramref name="length"/> bytes whose start is huge-page aligned and marked for huge
    /// pages (the kernel backs it as it is first written); null if the kernel refuses the mapping.
    /// </summary>
    internal static (nint Mapping, nuint MappingLength, nint Start)? Allocate(long length)
    {
        long rounded = (length + Size - 1) / Size * Size;
        var mappingLength = (nuint)(rounded + Size); // room to align the start
        nint mapping = mmap(0, mappingLength, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (mapping == -1) return null;
        nint start = (nint)(((long)mapping + Size - 1) / Size * Size);
        madvise(start, (nuint)rounded, MadvHugePage); // advice: without it the memory still works, in 4 KB pages
        return (mapping, mappingLength, start);
    }

    internal static void Free(nint mapping, nuint length) => munmap(mapping, length);

    /// <summary>The process's anonymous memory in huge pages (AnonHugePages of /proc/self/smaps_rollup), null where unknown.</summary>
    public static long? ProcessAnonymousHugeBytes() =>
        OperatingSystem.IsLinux() ? Kilobytes("/proc/self/smaps_rollup", "AnonHugePages:") : null;
}
