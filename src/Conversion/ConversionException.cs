using System;

namespace MobileOne.Conversion;

/// <summary>What went wrong with a checkpoint; the tool maps each kind to its own exit code.</summary>
public enum ConversionErrorKind
{
    /// <summary>The file is not a format we read (or is malformed).</summary>
    InvalidFormat,

    /// <summary>The file ends early: a truncated download or copy.</summary>
    Truncated,

    /// <summary>The pickle references a global outside the allowlist; nothing was executed.</summary>
    UnsafePickle,

    /// <summary>The tensors are not those of a MobileOne (or not a complete one): missing or unknown keys, wrong shapes.</summary>
    NotMobileOne,

    /// <summary>The checkpoint is a MobileOne, but of the other form than the command needs (fused vs train-time).</summary>
    WrongForm,

    /// <summary>Writing the output failed.</summary>
    Output,
}

/// <summary>A checkpoint that cannot be read or converted; <see cref="Exception.Message"/> says why, for a person.</summary>
public sealed class ConversionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConversionException(ConversionErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    /// <summary>The category of the problem.</summary>
    public ConversionErrorKind Kind { get; }
}
