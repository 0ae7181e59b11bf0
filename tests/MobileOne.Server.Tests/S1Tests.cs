using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using MobileOne.Runtime;
using MobileOne.Server.Http;
using MobileOne.TestSupport;
using StbImageSharp;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary><c>--s1-weights</c>: MobileOne-S1 served from a weight file, with timm's preprocessing.</summary>
[Collection(ServerCollection.Name)]
public sealed class S1Tests : IDisposable
{
    private readonly string _weights = Path.Combine(Path.GetTempPath(), $"mobileone-server-test-s1-{Guid.NewGuid():N}.safetensors");

    public S1Tests()
    {
        MobileOneArchitecture s1 = MobileOneArchitecture.S1();
        SafetensorsWriter.Write(_weights, FusedWeights.Uniform(s1, seed: 14), s1, TensorNaming.Apple);
    }

    [Fact]
    public async Task TheServerClassifiesWithTheGivenWeightsAsTheRuntimeDoesDirectly()
    {
        byte[] jpeg = TestImages.Reencode(TestImages.Gradient, "jpeg");
        await using RunningServer server = await RunningServer.StartAsync("--s1-weights", _weights, "--max-batch", "4");

        ClassificationResponse answer = await Http.ClassifyAsync(server.Client, TestImages.Body(jpeg, "image/jpeg"));

        // The same image through the runtime's public API, as the README shows it.
        ImageResult image = ImageResult.FromMemory(jpeg, ColorComponents.RedGreenBlue);
        float[] input = new float[MobileOneS1.InputLength];
        ImagePreprocessing.ToChw(image.Data, image.Width, image.Height, image.Width * 3, PixelFormat.Rgb24, input,
            MobileOneS1.InputChannels, MobileOneS1.InputHeight, MobileOneS1.InputWidth, MobileOneS1.Mean, MobileOneS1.Std, MobileOneS1.CropPct);
        float[] logits = new float[MobileOneS1.NumClasses], probabilities = new float[MobileOneS1.NumClasses];
        MobileOneS1.Load(_weights).Run(input, logits);
        Classification.Softmax(logits, probabilities);
        int[] top = new int[5];
        Classification.TopK(probabilities, top);

        Assert.Equal("MobileOneS1", answer.Model);
        Assert.Equal((image.Width, image.Height), (answer.Width, answer.Height));
        Assert.Equal(top.Select(i => $"class {i}"), answer.Top5.Select(p => p.Label));
        Assert.Equal(top.Select(i => probabilities[i]), answer.Top5.Select(p => p.Probability));
    }

    [Fact]
    public async Task AMissingWeightFileStopsTheServerWithExitCode1()
    {
        int exit = await ServerApp.RunAsync(["--s1-weights", _weights + ".missing", "--urls", "http://127.0.0.1:0"]);

        Assert.Equal(1, exit);
    }

    [Fact]
    public async Task ABadOptionStopsTheServerWithExitCode2()
    {
        int exit = await ServerApp.RunAsync(["--max-batch", "0", "--urls", "http://127.0.0.1:0"]);

        Assert.Equal(2, exit);
    }

    public void Dispose() => File.Delete(_weights);
}
