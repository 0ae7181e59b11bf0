using System;
using System.Threading;

namespace MobileOne.Generator;

/// <summary>
/// Test-only fault injection: lets MobileOne.Generator.Tests (through InternalsVisibleTo) make one pipeline step
/// throw for one file, to prove that every step turns an exception into MO0016. Nothing outside that assembly can
/// set it (it is internal and read from no build property, option or environment variable), and the hook is an
/// <see cref="AsyncLocal{T}"/>, so it applies only to the generator runs of the test that installed it, even with
/// tests running in parallel. Unset (always, in a real build) each <see cref="Point"/> is one null check.
/// </summary>
internal static class FaultInjection
{
    /// <summary>The step that reports diagnostics (it has no tracking name of its own).</summary>
    public const string ReportDiagnostics = nameof(ReportDiagnostics);

    private static readonly AsyncLocal<Func<string, string, Exception?>?> Hook = new AsyncLocal<Func<string, string, Exception?>?>();

    /// <summary>
    /// Installs <paramref name="hook"/> (step name, file path → the exception to throw there, or null) for the
    /// current execution context until the result is disposed, which restores the previous hook.
    /// </summary>
    public static IDisposable Install(Func<string, string, Exception?> hook)
    {
        Func<string, string, Exception?>? previous = Hook.Value;
        Hook.Value = hook;
        return new Restore(previous);
    }

    /// <summary>Throws the exception the installed hook asks for at this step and file, if any.</summary>
    public static void Point(string step, string path)
    {
        Exception? fault = Hook.Value?.Invoke(step, path);
        if (fault != null)
        {
            throw fault;
        }
    }

    private sealed class Restore : IDisposable
    {
        private readonly Func<string, string, Exception?>? _previous;

        public Restore(Func<string, string, Exception?>? previous) => _previous = previous;

        public void Dispose() => Hook.Value = _previous;
    }
}
