// This one file serves two builds:
//  * the engine library (diagnostics and tests call GlibcxxVersionPatch directly), and
//  * Directory.Build.targets, which compiles it as an MSBuild inline task (RoslynCodeTaskFactory) that patches
//    the libLibTorchSharp.so copy in every build/publish output folder. The task class is hidden from the library
//    build by FASTTEXT_ENGINE, which only the library defines.
// It therefore uses only what netstandard2.0 offers (the inline-task compiler's reference set): no Span, no BinaryPrimitives.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FastText.Engine.Native
{
    /// <summary>What <see cref="GlibcxxVersionPatch.Apply"/> did to a shared library.</summary>
    public enum PatchOutcome
    {
        /// <summary>The version need was strong and has been marked weak.</summary>
        Patched,
        /// <summary>The version need was already weak (a previous build patched this copy).</summary>
        AlreadyPatched,
        /// <summary>The library does not ask for the version at all: nothing to do.</summary>
        NotRequired,
        /// <summary>The system libstdc++ already defines the version, so the library loads as shipped: left untouched.</summary>
        SystemProvides,
    }

    /// <summary>
    /// Marks one ELF version requirement (by default <c>GLIBCXX_3.4.32</c>) as weak in a copy of a shared library.
    /// </summary>
    /// <remarks>
    /// TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> was linked against GCC 13's libstdc++ and so records a need for
    /// <c>GLIBCXX_3.4.32</c>; Debian 12 ships up to <c>GLIBCXX_3.4.30</c>, and the dynamic linker refuses the library.
    /// The only symbol bound to that version (<c>std::ios_base_library_init()</c>) has no relocation, so it is never
    /// resolved; marking the need <c>VER_FLG_WEAK</c> makes glibc accept its absence. See native-notes/ for the full story.
    /// The patch flips one bit in the <c>.gnu.version_r</c> section and is idempotent.
    /// </remarks>
    public static class GlibcxxVersionPatch
    {
        /// <summary>The version the TorchSharp 0.107.0 shim requires and Debian 12 lacks.</summary>
        public const string DefaultVersion = "GLIBCXX_3.4.32";

        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlagWeak = 0x2;

        /// <summary>
        /// Marks <paramref name="version"/> weak in <paramref name="libraryPath"/> (in place), unless the system libstdc++
        /// (<paramref name="systemLibstdcxx"/>, or the one found by <see cref="FindSystemLibstdcxx"/>) already defines it.
        /// </summary>
        /// <param name="libraryPath">The copy to patch. Never pass a file inside the NuGet package cache.</param>
        /// <param name="version">The version name to weaken.</param>
        /// <param name="systemLibstdcxx">libstdc++ to check first; <c>null</c> looks it up; empty skips the check.</param>
        public static PatchOutcome Apply(string libraryPath, string version = DefaultVersion, string? systemLibstdcxx = null)
        {
            string? system = systemLibstdcxx ?? FindSystemLibstdcxx();
            if (!string.IsNullOrEmpty(system) && DefinesVersion(system!, version))
            {
                return PatchOutcome.SystemProvides;
            }

            byte[] image = File.ReadAllBytes(libraryPath);
            int flagsOffset = FindNeedFlagsOffset(image, version, libraryPath);
            if (flagsOffset < 0)
            {
                return PatchOutcome.NotRequired;
            }

            ushort flags = ReadU16(image, flagsOffset, libraryPath);
            if ((flags & VerFlagWeak) != 0)
            {
                return PatchOutcome.AlreadyPatched;
            }

            // Write only the two changed bytes, in place: the file keeps its inode, mode and everything else.
            using (var stream = new FileStream(libraryPath, FileMode.Open, FileAccess.Write, FileShare.Read))
            {
                ushort patched = (ushort)(flags | VerFlagWeak);
                stream.Position = flagsOffset;
                stream.Write(new[] { (byte)patched, (byte)(patched >> 8) }, 0, 2);
            }
            return PatchOutcome.Patched;
        }

        /// <summary>Whether <paramref name="libraryPath"/> records a <em>strong</em> need for <paramref name="version"/>.</summary>
        public static bool HasStrongRequirement(string libraryPath, string version = DefaultVersion)
        {
            byte[] image = File.ReadAllBytes(libraryPath);
            int flagsOffset = FindNeedFlagsOffset(image, version, libraryPath);
            return flagsOffset >= 0 && (ReadU16(image, flagsOffset, libraryPath) & VerFlagWeak) == 0;
        }

        /// <summary>Whether the shared library at <paramref name="libraryPath"/> defines (exports) <paramref name="version"/>.</summary>
        public static bool DefinesVersion(string libraryPath, string version)
        {
            byte[] image = File.ReadAllBytes(libraryPath);
            foreach (Section section in ReadSections(image, libraryPath))
            {
                if (section.Type != ShtGnuVerdef)
                {
                    continue;
                }
                Section strings = SectionAt(image, section.Link, libraryPath);
                // Elf64_Verdef: vd_version u16 @0, vd_flags u16 @2, vd_ndx u16 @4, vd_cnt u16 @6, vd_hash u32 @8,
                // vd_aux u32 @12, vd_next u32 @16. First Elf64_Verdaux: vda_name u32 @0 (the version's own name).
                long entry = (long)section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    uint aux = ReadU32(image, entry + 12, libraryPath);
                    uint name = ReadU32(image, entry + aux, libraryPath);
                    if (ReadString(image, (long)strings.Offset + name, libraryPath) == version)
                    {
                        return true;
                    }
                    uint next = ReadU32(image, entry + 16, libraryPath);
                    if (next == 0)
                    {
                        break;
                    }
                    entry += next;
                }
            }
            return false;
        }

        /// <summary>
        /// The libstdc++ this process would load: the one already mapped into it (from <c>/proc/self/maps</c>), else the
        /// first of the usual Debian/Fedora locations that exists; <c>null</c> when none is found.
        /// </summary>
        public static string? FindSystemLibstdcxx()
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/self/maps"))
                {
                    int slash = line.IndexOf('/');
                    if (slash >= 0 && line.IndexOf("/libstdc++.so", slash, StringComparison.Ordinal) >= 0)
                    {
                        return line.Substring(slash).Trim();
                    }
                }
            }
            catch (IOException)
            {
                // not Linux, or /proc unavailable: fall back to the usual paths
            }
            catch (UnauthorizedAccessException)
            {
            }

            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6",
                "/usr/lib/libstdc++.so.6",
            };
            foreach (string candidate in candidates)
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
            return null;
        }

        /// <summary>File offset of <c>vna_flags</c> of the Vernaux entry named <paramref name="version"/>, or -1.</summary>
        private static int FindNeedFlagsOffset(byte[] image, string version, string path)
        {
            foreach (Section section in ReadSections(image, path))
            {
                if (section.Type != ShtGnuVerneed)
                {
                    continue;
                }
                Section strings = SectionAt(image, section.Link, path);
                // Elf64_Verneed: vn_version u16 @0, vn_cnt u16 @2, vn_file u32 @4, vn_aux u32 @8, vn_next u32 @12.
                // Elf64_Vernaux: vna_hash u32 @0, vna_flags u16 @4, vna_other u16 @6, vna_name u32 @8, vna_next u32 @12.
                long need = (long)section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    ushort count = ReadU16(image, need + 2, path);
                    long aux = need + ReadU32(image, need + 8, path);
                    for (int j = 0; j < count; j++)
                    {
                        uint name = ReadU32(image, aux + 8, path);
                        if (ReadString(image, (long)strings.Offset + name, path) == version)
                        {
                            return checked((int)(aux + 4));
                        }
                        aux += ReadU32(image, aux + 12, path);
                    }
                    uint next = ReadU32(image, need + 12, path);
                    if (next == 0)
                    {
                        break;
                    }
                    need += next;
                }
            }
            return -1;
        }

        private readonly struct Section
        {
            public Section(uint type, ulong offset, uint link, uint info)
            {
                Type = type;
                Offset = offset;
                Link = link;
                Info = info;
            }

            public uint Type { get; }
            public ulong Offset { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        private static List<Section> ReadSections(byte[] image, string path)
        {
            // ELF64 little-endian only: that is what linux-x64 natives are.
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            {
                throw new InvalidDataException($"{path}: not an ELF file.");
            }
            if (image[4] != 2 || image[5] != 1)
            {
                throw new InvalidDataException($"{path}: not a 64-bit little-endian ELF file (class {image[4]}, data {image[5]}).");
            }
            ulong sectionTable = ReadU64(image, 0x28, path);
            ushort entrySize = ReadU16(image, 0x3A, path);
            ushort count = ReadU16(image, 0x3C, path);
            var sections = new List<Section>(count);
            for (int i = 0; i < count; i++)
            {
                long header = checked((long)sectionTable + (long)i * entrySize);
                sections.Add(new Section(
                    ReadU32(image, header + 4, path),
                    ReadU64(image, header + 24, path),
                    ReadU32(image, header + 40, path),
                    ReadU32(image, header + 44, path)));
            }
            return sections;
        }

        private static Section SectionAt(byte[] image, uint index, string path)
        {
            List<Section> sections = ReadSections(image, path);
            if (index >= sections.Count)
            {
                throw new InvalidDataException($"{path}: section link {index} is out of range.");
            }
            return sections[(int)index];
        }

        private static void Check(byte[] image, long offset, int size, string path)
        {
            if (offset < 0 || offset + size > image.Length)
            {
                throw new InvalidDataException($"{path}: truncated or corrupt ELF file (read at offset {offset}).");
            }
        }

        private static ushort ReadU16(byte[] image, long offset, string path)
        {
            Check(image, offset, 2, path);
            return (ushort)(image[offset] | image[offset + 1] << 8);
        }

        private static uint ReadU32(byte[] image, long offset, string path)
        {
            Check(image, offset, 4, path);
            return (uint)(image[offset] | image[offset + 1] << 8 | image[offset + 2] << 16 | image[offset + 3] << 24);
        }

        private static ulong ReadU64(byte[] image, long offset, string path)
        {
            Check(image, offset, 8, path);
            return ReadU32(image, offset, path) | (ulong)ReadU32(image, offset + 4, path) << 32;
        }

        private static string ReadString(byte[] image, long offset, string path)
        {
            Check(image, offset, 1, path);
            int end = Array.IndexOf(image, (byte)0, (int)offset);
            if (end < 0)
            {
                throw new InvalidDataException($"{path}: unterminated string at offset {offset}.");
            }
            return Encoding.ASCII.GetString(image, (int)offset, end - (int)offset);
        }
    }

#if !FASTTEXT_ENGINE
    /// <summary>MSBuild inline task: applies <see cref="GlibcxxVersionPatch"/> to each given output copy.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>Output-folder copies of libLibTorchSharp.so (never NuGet cache files).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Libraries { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <inheritdoc />
        public override bool Execute()
        {
            foreach (Microsoft.Build.Framework.ITaskItem item in Libraries)
            {
                string path = item.GetMetadata("FullPath");
                if (path.IndexOf(Path.DirectorySeparatorChar + ".nuget" + Path.DirectorySeparatorChar, StringComparison.Ordinal) >= 0)
                {
                    Log.LogError("Refusing to patch {0}: it is inside a NuGet package folder; only build outputs are patched.", path);
                    return false;
                }
                try
                {
                    PatchOutcome outcome = GlibcxxVersionPatch.Apply(path);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                        "FastText.Engine native fix: {0}: {1}", path, outcome);
                }
                catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                {
                    Log.LogError("FastText.Engine native fix failed on {0}: {1}", path, e.Message);
                    return false;
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
