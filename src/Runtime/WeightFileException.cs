using System.IO;

namespace MobileOne.Runtime;

/// <summary>A weight file that is malformed or does not match the network it is bound to.</summary>
public sealed class WeightFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the file and the first mismatching tensor.</param>
    public WeightFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="inner">The underlying error.</param>
    public WeightFileException(string message, System.Exception inner)
        : base(message, inner)
    {
    }
}
