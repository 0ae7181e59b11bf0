using System;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

public sealed unsafe class AlignedFloatBufferTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void PointerIsAlignedAndSpanAliasesIt(int length)
    {
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var buffer = new AlignedFloatBuffer(length);
            Assert.Equal(0, (long)((nuint)buffer.Pointer % 64));
            Assert.Equal(length, buffer.Length);
            Assert.Equal(length, buffer.Span.Length);
            if (length > 0)
            {
                buffer.Span[length - 1] = 42f;
                Assert.Equal(42f, buffer.Pointer[length - 1]);
                buffer.Pointer[0] = 7f;
                Assert.Equal(7f, buffer.Span[0]);
            }

            GC.KeepAlive(buffer);
        }
    }

    [Fact]
    public void NegativeLengthThrows() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedFloatBuffer(-1));
}
