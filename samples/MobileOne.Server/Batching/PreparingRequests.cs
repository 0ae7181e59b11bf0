using System;
using System.Threading;

namespace MobileOne.Server.Batching;

/// <summary>
/// Counts requests that are reading or decoding their image: they will want an inference soon, so a batch that
/// is not full may wait for them (up to its deadline). With none on the way, a batch runs at once.
/// </summary>
public sealed class PreparingRequests
{
    private int _count;

    /// <summary>Gets the number of requests preparing now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Counts one request until the returned scope is disposed.</summary>
    /// <returns>The scope.</returns>
    public Scope Enter()
    {
        Interlocked.Increment(ref _count);
        return new Scope(this);
    }

    /// <summary>One preparing request.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly PreparingRequests? _owner;

        internal Scope(PreparingRequests owner)
        {
            _owner = owner;
        }

        /// <inheritdoc />
        public void Dispose()
        {
            if (_owner != null)
            {
                Interlocked.Decrement(ref _owner._count);
            }
        }
    }
}
