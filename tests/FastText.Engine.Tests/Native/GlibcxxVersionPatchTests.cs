using FastText.Engine.Native;

namespace FastText.Engine.Tests.Native;

public sealed class GlibcxxVersionPatchTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public void Dispose() => temporary.Dispose();

    /// <summary>The shim shipped by the TorchSharp package (read-only source of truth; never modified by the test).</summary>
    private static string PackageShim()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string shim = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(shim), $"expected the TorchSharp package's shim at {shim}");
        return shim;
    }

    private string CopyOfShim()
    {
        string copy = Path.Combine(folder, "libLibTorchSharp.so");
        File.Copy(PackageShim(), copy, overwrite: true);
        return copy;
    }

    [Fact]
    public void Shipped_shim_requires_the_version_strongly()
    {
        Assert.True(GlibcxxVersionPatch.HasStrongRequirement(PackageShim()));
    }

    [Fact]
    public void Patching_a_copy_flips_only_the_flag_and_is_idempotent()
    {
        string copy = CopyOfShim();
        byte[] before = File.ReadAllBytes(copy);

        // An empty system path skips the "system already provides it" check, so the patch is exercised on any host.
        Assert.Equal(PatchOutcome.Patched, GlibcxxVersionPatch.Apply(copy, systemLibstdcxx: ""));
        Assert.False(GlibcxxVersionPatch.HasStrongRequirement(copy));
        byte[] after = File.ReadAllBytes(copy);
        Assert.Equal(before.Length, after.Length);
        int changed = Enumerable.Range(0, before.Length).Count(i => before[i] != after[i]);
        Assert.Equal(1, changed); // VER_FLG_WEAK is bit 1 of the low byte of vna_flags

        Assert.Equal(PatchOutcome.AlreadyPatched, GlibcxxVersionPatch.Apply(copy, systemLibstdcxx: ""));
        Assert.Equal(after, File.ReadAllBytes(copy));
        Assert.True(GlibcxxVersionPatch.HasStrongRequirement(PackageShim()), "the package's own file must stay untouched");
    }

    [Fact]
    public void A_version_the_library_does_not_need_is_left_alone()
    {
        string copy = CopyOfShim();
        Assert.Equal(PatchOutcome.NotRequired, GlibcxxVersionPatch.Apply(copy, "GLIBCXX_9.9.99", systemLibstdcxx: ""));
    }

    [Fact]
    public void Nothing_is_patched_when_the_system_library_defines_the_version()
    {
        string? system = GlibcxxVersionPatch.FindSystemLibstdcxx();
        Assert.NotNull(system);
        // Every libstdc++ defines GLIBCXX_3.4; the shim requires it too, so "system provides" must win.
        Assert.True(GlibcxxVersionPatch.DefinesVersion(system!, "GLIBCXX_3.4"));
        string copy = CopyOfShim();
        Assert.Equal(PatchOutcome.SystemProvides, GlibcxxVersionPatch.Apply(copy, "GLIBCXX_3.4", system));
        Assert.Equal(File.ReadAllBytes(PackageShim()), File.ReadAllBytes(copy));
    }

    [Fact]
    public void The_build_output_copy_next_to_the_tests_is_patched()
    {
        string shim = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.True(File.Exists(shim));
        string? system = GlibcxxVersionPatch.FindSystemLibstdcxx();
        bool systemHasIt = system is not null && GlibcxxVersionPatch.DefinesVersion(system, GlibcxxVersionPatch.DefaultVersion);
        Assert.True(systemHasIt || !GlibcxxVersionPatch.HasStrongRequirement(shim));
    }

    [Fact]
    public void A_file_that_is_not_elf_is_rejected_with_its_name()
    {
        string bogus = Path.Combine(folder, "bogus.so");
        File.WriteAllText(bogus, "definitely not an ELF file, but long enough to have a header of sixty-four bytes....");
        var error = Assert.Throws<InvalidDataException>(() => GlibcxxVersionPatch.Apply(bogus, systemLibstdcxx: ""));
        Assert.Contains("bogus.so", error.Message);
    }
}
