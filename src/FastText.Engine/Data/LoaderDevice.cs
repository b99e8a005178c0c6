using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>
/// Decides how batches reach the training device. On the CPU (the only backend built and run here) batches are
/// zero-copy views of pooled host buffers. For a CUDA device the host buffers are page-locked and each batch is copied
/// with <c>non_blocking: true</c>; that path is guarded by <c>torch.cuda.is_available()</c> because
/// <c>pin_memory()</c> throws on CPU-only libtorch builds. The CUDA path compiles and its guard is unit-tested, but it
/// has never run on a GPU.
/// </summary>
internal sealed class LoaderDevice
{
    private LoaderDevice(Device? device, bool copyToDevice)
    {
        Target = device;
        CopyToDevice = copyToDevice;
    }

    /// <summary>The device batches are delivered on; null = CPU.</summary>
    public Device? Target { get; }

    /// <summary>Whether batches are copied (asynchronously, from pinned memory) to <see cref="Target"/>.</summary>
    public bool CopyToDevice { get; }

    /// <summary>Host buffers are page-locked exactly when batches are copied to a CUDA device.</summary>
    public bool PinHostMemory => CopyToDevice;

    /// <summary>Validates <paramref name="device"/> against what this process can use.</summary>
    /// <param name="device">Requested device (null or CPU: no copies).</param>
    /// <param name="cudaAvailable">Probe for CUDA (defaults to <c>torch.cuda.is_available()</c>; tests substitute it).</param>
    public static LoaderDevice Resolve(Device? device, Func<bool>? cudaAvailable = null)
    {
        if (device is null || device.type == DeviceType.CPU)
        {
            return new LoaderDevice(null, copyToDevice: false);
        }
        if (device.type != DeviceType.CUDA)
        {
            throw new NotSupportedException($"Batches can be delivered on the CPU or a CUDA device, not on {device}.");
        }
        bool available = (cudaAvailable ?? torch.cuda.is_available)();
        if (!available)
        {
            throw new InvalidOperationException(
                $"Batches were requested on {device}, but torch.cuda.is_available() is false (this build uses the CPU libtorch). "
                + "Leave the loader's Device unset to train on the CPU.");
        }
        return new LoaderDevice(device, copyToDevice: true);
    }

    /// <summary>Copies a host view to the device without blocking the host (pinned source).</summary>
    public Tensor Copy(Tensor hostView) => hostView.to(Target!, copy: false, disposeAfter: false, non_blocking: true);

    /// <summary>
    /// Called before a pinned host buffer is refilled: the asynchronous copy out of it must have finished. TorchSharp
    /// has no CUDA events or streams API, so this synchronizes the device (the trainer synchronizes every step anyway
    /// when it reads the loss).
    /// </summary>
    public void WaitForCopies()
    {
        if (CopyToDevice)
        {
            torch.cuda.synchronize();
        }
    }
}
