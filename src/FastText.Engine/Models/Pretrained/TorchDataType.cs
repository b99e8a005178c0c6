using static TorchSharp.torch;

namespace FastText.Engine.Models.Pretrained;

/// <summary>A PyTorch storage class (<c>torch.FloatStorage</c>, …) with its element type and size.</summary>
internal sealed record TorchDataType(string StorageClass, ScalarType ScalarType, int ElementSize)
{
    private static readonly TorchDataType[] Known =
    [
        new("FloatStorage", ScalarType.Float32, 4),
        new("DoubleStorage", ScalarType.Float64, 8),
        new("HalfStorage", ScalarType.Float16, 2),
        new("BFloat16Storage", ScalarType.BFloat16, 2),
        new("LongStorage", ScalarType.Int64, 8),
        new("IntStorage", ScalarType.Int32, 4),
        new("ShortStorage", ScalarType.Int16, 2),
        new("CharStorage", ScalarType.Int8, 1),
        new("ByteStorage", ScalarType.Byte, 1),
        new("BoolStorage", ScalarType.Bool, 1),
    ];

    /// <summary>Finds the type of a pickled storage class name such as <c>FloatStorage</c>.</summary>
    public static TorchDataType? FromStorageClass(string name)
    {
        foreach (var type in Known)
        {
            if (type.StorageClass == name)
            {
                return type;
            }
        }
        return null;
    }

    /// <summary>Finds the storage class PyTorch uses for a tensor's element type.</summary>
    public static TorchDataType? FromScalarType(ScalarType scalarType)
    {
        foreach (var type in Known)
        {
            if (type.ScalarType == scalarType)
            {
                return type;
            }
        }
        return null;
    }
}
