using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Model;
using Xunit;

namespace MobileOne.Model.Tests;

/// <summary>The one shape-inference algorithm and the tensor check.</summary>
public class InferenceTests
{
    private static Dictionary<string, int[]> Shapes(IEnumerable<TensorShape> tensors) => tensors.ToDictionary(t => t.Name, t => t.Shape);

    [Theory]
    [InlineData("s0")]
    [InlineData("s1")]
    [InlineData("s2")]
    [InlineData("s3")]
    [InlineData("s4")]
    public void Fused_tensors_of_a_preset_give_back_the_preset(string name)
    {
        NetworkShape p = Presets.Get(name)!;
        InferredNetwork r = ShapeInference.Infer(Shapes(p.FusedTensors()));
        Assert.Null(r.Error);
        Assert.Equal(NetworkForm.Fused, r.Form);
        Assert.Equal(p, r.Shape);
        Assert.Equal(name, r.Shape!.Variant);
        Assert.All(r.ConvBranches.Values, k => Assert.Equal(1, k));
    }

    [Fact]
    public void Train_time_tensors_give_the_structure_and_k_per_layer()
    {
        NetworkShape p = Presets.Get("s4")!.WithInputSize(64, 96).WithNumClasses(7);
        InferredNetwork r = ShapeInference.Infer(Shapes(p.TrainTimeTensors(layer => layer == "stage0" ? 1 : 3)), 64, 96);
        Assert.Null(r.Error);
        Assert.Equal(NetworkForm.TrainTime, r.Form);
        Assert.Equal(p, r.Shape);
        Assert.Equal(1, r.ConvBranches["stage0"]);
        Assert.Equal(3, r.ConvBranches["stage3.19"]);
    }

    [Fact]
    public void Se_widths_that_differ_from_the_default_are_read_from_the_tensors()
    {
        var widths = new Dictionary<string, int> { ["stage2.2"] = 5, ["stage2.3"] = 7 };
        var custom = new NetworkShape(1, 32, 48, 16, new[] { 16, 32, 48, 64 }, new[] { 1, 2, 1, 1 }, new[] { 0, 1, 0, 0 }, 10, widths);
        InferredNetwork r = ShapeInference.Infer(Shapes(custom.FusedTensors()), 32, 48);
        Assert.Null(r.Error);
        Assert.Equal(5, r.Shape!.Layers().Single(l => l.Name == "stage2.2").SeReduced);
        Assert.Equal(7, r.Shape.Layers().Single(l => l.Name == "stage2.3").SeReduced);
        Assert.Equal(custom, r.Shape);
        Assert.NotEqual(new NetworkShape(1, 32, 48, 16, new[] { 16, 32, 48, 64 }, new[] { 1, 2, 1, 1 }, new[] { 0, 1, 0, 0 }, 10), r.Shape);
    }

    [Fact]
    public void Errors_name_the_tensor_they_are_about()
    {
        Dictionary<string, int[]> s = Shapes(Presets.Get("s0")!.FusedTensors());
        var noStage3 = s.Where(kv => !kv.Key.StartsWith("stage3.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        InferredNetwork r = ShapeInference.Infer(noStage3);
        Assert.Contains("stage 3 is missing", r.Error);
        Assert.Equal("stage3.0.reparam_conv.weight", r.ErrorTensor);

        var odd = new Dictionary<string, int[]>(s);
        odd.Remove("stage2.15.reparam_conv.weight");
        r = ShapeInference.Infer(odd);
        Assert.Contains("stage 2 has 15 conv layers", r.Error);

        var badStem = new Dictionary<string, int[]>(s) { ["stage0.reparam_conv.weight"] = new[] { 48, 3, 5, 5 } };
        r = ShapeInference.Infer(badStem);
        Assert.True(r.IsShapeError);
        Assert.Equal("[C, Cin, 3, 3]", r.ExpectedShape);

        var mixed = new Dictionary<string, int[]>(s) { ["stage1.0.rbr_skip.weight"] = new[] { 48 } };
        Assert.Contains("mixes fused tensors", ShapeInference.Infer(mixed).Error);

        var noHead = new Dictionary<string, int[]>(s);
        noHead.Remove("linear.weight");
        Assert.Equal("linear.weight", ShapeInference.Infer(noHead).ErrorTensor);
    }

    [Fact]
    public void The_tensor_check_lists_missing_wrong_and_unexpected_tensors()
    {
        NetworkShape p = Presets.Get("s0")!;
        var actual = p.FusedTensors().ToDictionary(t => t.Name, t => (t.Shape, "F32"));
        actual.Remove("stage1.1.reparam_conv.bias");
        actual["stage1.2.reparam_conv.weight"] = (new[] { 48, 1, 5, 5 }, "F32");
        actual["stage1.3.reparam_conv.weight"] = (actual["stage1.3.reparam_conv.weight"].Shape, "I8");
        actual["extra.weight"] = (new[] { 1 }, "F32");
        List<TensorIssue> issues = TensorCheck.Compare(p.FusedTensors(), actual, allowBatchCounters: false, DTypes.IsWeightFloat);
        Assert.Equal(
            new[] { (TensorIssueKind.Missing, "stage1.1.reparam_conv.bias"), (TensorIssueKind.WrongShape, "stage1.2.reparam_conv.weight"), (TensorIssueKind.WrongDType, "stage1.3.reparam_conv.weight"), (TensorIssueKind.Unexpected, "extra.weight") },
            issues.Select(i => (i.Kind, i.Name)));

        var train = p.TrainTimeTensors(_ => 1).ToDictionary(t => t.Name, t => (t.Shape, "F32"));
        train["stage1.2.rbr_skip.num_batches_tracked"] = (Array.Empty<int>(), "I64");
        Assert.Empty(TensorCheck.Compare(p.TrainTimeTensors(_ => 1), train, allowBatchCounters: true, DTypes.IsFloat));
        Assert.Single(TensorCheck.Compare(p.TrainTimeTensors(_ => 1), train, allowBatchCounters: false, DTypes.IsFloat));
    }

    [Fact]
    public void Names_follow_one_rule_apple_or_timm_never_both()
    {
        CanonicalNames timm = TensorNames.Canonicalize(new[] { "stem.reparam_conv.weight", "stages.2.10.attn.fc1.weight", "head.fc.bias" });
        Assert.Null(timm.Error);
        Assert.Equal(TensorNaming.Timm, timm.Naming);
        Assert.Equal(new[] { "stage0.reparam_conv.weight", "stage3.10.se.reduce.weight", "linear.bias" }, timm.InOrder);
        Assert.Equal("stages.2.10.attn.fc1.weight", TensorNames.FromCanonical("stage3.10.se.reduce.weight", TensorNaming.Timm));

        CanonicalNames mixed = TensorNames.Canonicalize(new[] { "stage0.reparam_conv.weight", "head.fc.weight" });
        Assert.Contains("mixes Apple's tensor names ('stage0.reparam_conv.weight') with timm's ('head.fc.weight')", mixed.Error);

        CanonicalNames twice = TensorNames.Canonicalize(new[] { "stem.reparam_conv.bias", "stem.reparam_conv.bias" });
        Assert.Contains("two names for tensor 'stage0.reparam_conv.bias'", twice.Error);

        CanonicalNames unknown = TensorNames.Canonicalize(new[] { "linear.weight", "model.fc.weight" });
        Assert.Null(unknown.Error);
        Assert.Equal(new[] { "model.fc.weight" }, unknown.Unknown);
    }
}
