using System.Linq;
using System.Threading.Tasks;
using MobileOne.Server.Http;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary><c>--int8</c>: the quantized Fashion-MNIST class behind the same interface, preprocessing and batching.</summary>
[Collection(ServerCollection.Name)]
public sealed class Int8Tests
{
    [Fact]
    public void TheInt8ModelTakesTheSameInputAsTheFp32One()
    {
        // FashionPreprocessing writes FashionMnist's input; the int8 class must expect exactly that.
        Assert.Equal(FashionMnist.InputLength, FashionMnistInt8.InputLength);
        Assert.Equal(FashionMnist.Mean.ToArray(), FashionMnistInt8.Mean.ToArray());
        Assert.Equal(FashionMnist.Std.ToArray(), FashionMnistInt8.Std.ToArray());
        Assert.Equal(FashionMnist.Labels, FashionMnistInt8.Labels);
    }

    [Fact]
    public async Task TheInt8ServerGivesEachShippedImageItsLabel()
    {
        await using RunningServer server = await RunningServer.StartAsync("--int8", "--max-batch", "4");

        ClassificationResponse[] answers = await Task.WhenAll(TestImages.LabelledFiles.Select(f =>
            Http.ClassifyAsync(server.Client, TestImages.Body(TestImages.Read(f)))));

        Assert.All(answers, a => Assert.Equal("FashionMnistInt8", a.Model));
        Assert.Equal(TestImages.LabelledFiles.Select(TestImages.Truth), answers.Select(a => TestImages.Normalise(a.Top5[0].Label)));
    }
}
