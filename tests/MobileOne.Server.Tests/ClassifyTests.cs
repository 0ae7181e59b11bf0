using System;
using System.Linq;
using System.Threading.Tasks;
using MobileOne.Server.Http;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>POST /classify on good images: the right label, in every accepted format and upload style.</summary>
[Collection(ServerCollection.Name)]
public sealed class ClassifyTests(ServerFixture servers)
{
    public static TheoryData<string> LabelledFiles => new(TestImages.LabelledFiles);

    [Theory]
    [MemberData(nameof(LabelledFiles))]
    public async Task EachShippedImageGetsTheLabelInItsName(string fileName)
    {
        ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(TestImages.Read(fileName)));

        Assert.Equal(TestImages.Truth(fileName), TestImages.Normalise(answer.Top5[0].Label));
    }

    [Theory]
    [MemberData(nameof(LabelledFiles))]
    public async Task AnImageOnALightBackgroundIsInvertedFirstAndGetsTheSameLabel(string fileName)
    {
        // Fashion-MNIST shows light clothes on black; a photo on white is inverted by the preprocessing.
        byte[] negative = TestImages.Negative(TestImages.Read(fileName));

        ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(negative));

        Assert.Equal(TestImages.Truth(fileName), TestImages.Normalise(answer.Top5[0].Label));
    }

    [Fact]
    public async Task TheAnswerHasTheModelTopFiveDescendingProbabilitiesAndTheServerTime()
    {
        ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(TestImages.AnkleBoot));

        Assert.Equal("FashionMnist", answer.Model);
        Assert.Equal(5, answer.Top5.Count);
        Assert.Equal(5, answer.Top5.Select(p => p.Label).Distinct().Count());
        Assert.True(answer.Top5.Zip(answer.Top5.Skip(1)).All(pair => pair.First.Probability >= pair.Second.Probability));
        Assert.InRange(answer.Top5.Sum(p => p.Probability), 0.5f, 1.0001f);
        Assert.InRange(answer.Milliseconds, 0.001, 10_000);
        Assert.Equal((28, 28), (answer.Width, answer.Height));
        Assert.InRange(answer.BatchSize, 1, 16);
    }

    [Theory]
    [InlineData("jpeg", "image/jpeg")]
    [InlineData("bmp", "image/bmp")]
    [InlineData("bmp", "application/octet-stream")]
    public async Task JpegAndBmpGetTheSameLabelAsThePng(string format, string contentType)
    {
        byte[] file = TestImages.Reencode(TestImages.Read("0009_sneaker.png"), format);

        ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(file, contentType));

        Assert.Equal("sneaker", TestImages.Normalise(answer.Top5[0].Label));
    }

    [Fact]
    public async Task AMultipartUploadGetsTheSameAnswerAsARawBody()
    {
        byte[] file = TestImages.Read("0013_dress.png");

        ClassificationResponse raw = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(file));
        ClassificationResponse form = await Http.ClassifyAsync(servers.Batched.Client, TestImages.FilePart(file));
        ClassificationResponse untyped = await Http.ClassifyAsync(servers.Batched.Client, TestImages.FilePart(file, partType: null));

        Assert.Equal("dress", TestImages.Normalise(form.Top5[0].Label));
        Assert.Equal(raw.Top5, form.Top5);
        Assert.Equal(raw.Top5, untyped.Top5);
    }

    [Fact]
    public async Task TheUnbatchedServerGivesTheSameProbabilities()
    {
        byte[] file = TestImages.Read("0006_coat.png");

        ClassificationResponse batched = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(file));
        ClassificationResponse unbatched = await Http.ClassifyAsync(servers.Unbatched.Client, TestImages.Body(file));

        Assert.Equal(batched.Top5, unbatched.Top5);
        Assert.Equal(1, unbatched.BatchSize);
    }
}
