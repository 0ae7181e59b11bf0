using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics;
using MobileOne.Runtime;

namespace MobileOne.Training;

/// <summary>
/// A train-time MobileOneBlock (docs/mobileone.md, "Fusion"): <c>out = ReLU(SE(Σⱼ BNⱼ(convⱼ(x)) + BN(scale(x)) + BN(x)))</c> with k
/// conv-BN branches, the 1x1 conv-BN scale branch when the kernel is 3x3 (same stride and groups), and the BN-only
/// skip when Cin == Cout and stride 1. Activations are NHWC rows (batch folded into pixels) whose channel count is a
/// multiple of 16, except the stem's input, which is the caller's CHW images. The forward convolutions run on the
/// runtime's kernels (<see cref="StemConv3x3"/>, <see cref="DepthwiseConv3x3"/>, <see cref="PointwiseConv"/>).
/// </summary>
public sealed unsafe class MobileOneBlock
{
    private readonly List<Parameter> _parameters = new();
    private readonly FloatBuffer[] _z;
    private readonly FloatBuffer[] _packed;
    private readonly FloatBuffer _zeroBias, _skipXhat = new(), _pre = new(), _dPre = new(), _dz = new(), _scratch = new(), _scaleT;
    private int _batch;
    private bool _trained;
    private FloatBuffer? _input;

    /// <summary>Builds the block with He-initialised convs and BN γ = 1, β = 0.</summary>
    public MobileOneBlock(BlockInfo info, Random random)
    {
        Info = info;
        int k = info.ConvBranches;
        int kin = info.WeightInChannels, ks = info.KernelSize;
        ConvWeights = new Parameter[k];
        ConvBns = new BatchNorm[k];
        for (int j = 0; j < k; j++)
        {
            ConvWeights[j] = new Parameter($"{info.Name}.rbr_conv.{j}.conv.weight", new[] { info.OutChannels, kin, ks, ks }, decay: true);
            ConvWeights[j].InitHeNormal(random, kin * ks * ks);
            ConvBns[j] = new BatchNorm($"{info.Name}.rbr_conv.{j}.bn", info.OutChannels);
            _parameters.Add(ConvWeights[j]);
            _parameters.Add(ConvBns[j].Weight);
            _parameters.Add(ConvBns[j].Bias);
        }

        if (info.HasScale)
        {
            ScaleWeight = new Parameter($"{info.Name}.rbr_scale.conv.weight", new[] { info.OutChannels, kin, 1, 1 }, decay: true);
            ScaleWeight.InitHeNormal(random, kin);
            ScaleBn = new BatchNorm($"{info.Name}.rbr_scale.bn", info.OutChannels);
            _parameters.Add(ScaleWeight);
            _parameters.Add(ScaleBn.Weight);
            _parameters.Add(ScaleBn.Bias);
        }

        if (info.HasSkip)
        {
            SkipBn = new BatchNorm($"{info.Name}.rbr_skip", info.InChannels);
            _parameters.Add(SkipBn.Weight);
            _parameters.Add(SkipBn.Bias);
        }

        if (info.HasSe)
        {
            Se = new SqueezeExcite(info.Name, info.OutChannels, info.SeReduced, random);
            _parameters.AddRange(new[] { Se.ReduceWeight, Se.ReduceBias, Se.ExpandWeight, Se.ExpandBias });
        }

        int branches = k + (info.HasScale ? 1 : 0);
        _z = new FloatBuffer[branches];
        for (int j = 0; j < branches; j++)
        {
            _z[j] = new FloatBuffer();
        }

        _packed = new FloatBuffer[k];
        for (int j = 0; j < k; j++)
        {
            _packed[j] = new FloatBuffer(info.Kind switch
            {
                BlockKind.Stem => PackedSize.Stem(info.OutChannels, info.InChannels),
                BlockKind.Depthwise => PackedSize.Depthwise(info.OutChannels),
                _ => PackedSize.Pointwise(info.OutChannels, info.InChannels),
            });
        }

        _zeroBias = new FloatBuffer(info.OutChannels);
        _scaleT = new FloatBuffer((long)info.OutChannels * info.InChannels);
        Output = new FloatBuffer();
        InputGrad = new FloatBuffer();
    }

    /// <summary>Position and branches.</summary>
    public BlockInfo Info { get; }

    /// <summary>The k conv weights <c>[Cout, Cin/g, k, k]</c>.</summary>
    public Parameter[] ConvWeights { get; }

    /// <summary>The BN of each conv branch.</summary>
    public BatchNorm[] ConvBns { get; }

    /// <summary>The scale branch's 1x1 weight, when the kernel is 3x3.</summary>
    public Parameter? ScaleWeight { get; }

    /// <summary>The scale branch's BN.</summary>
    public BatchNorm? ScaleBn { get; }

    /// <summary>The skip BN, when Cin == Cout and stride 1.</summary>
    public BatchNorm? SkipBn { get; }

    /// <summary>Squeeze-excite, when the block has it.</summary>
    public SqueezeExcite? Se { get; }

    /// <summary>Learnable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Every BN of the block.</summary>
    public IEnumerable<BatchNorm> BatchNorms
    {
        get
        {
            foreach (BatchNorm bn in ConvBns)
            {
                yield return bn;
            }

            if (ScaleBn != null)
            {
                yield return ScaleBn;
            }

            if (SkipBn != null)
            {
                yield return SkipBn;
            }
        }
    }

    /// <summary>The block output of the last forward: <c>batch * OutHeight * OutWidth</c> NHWC rows of OutChannels.</summary>
    public FloatBuffer Output { get; }

    /// <summary>The gradient with respect to the block input after <see cref="Backward"/> (not computed for the stem).</summary>
    public FloatBuffer InputGrad { get; }

    private int InPixels => Info.InHeight * Info.InWidth;

    private int OutPixels => Info.OutHeight * Info.OutWidth;

    /// <summary>Forward on <paramref name="batch"/> images; <paramref name="input"/> must stay unchanged until <see cref="Backward"/>.</summary>
    public FloatBuffer Forward(FloatBuffer input, int batch, bool training)
    {
        _input = input;
        _batch = batch;
        _trained = training;
        int cout = Info.OutChannels;
        int rows = batch * OutPixels;
        long outLength = (long)rows * cout;
        foreach (FloatBuffer z in _z)
        {
            z.Ensure(outLength);
        }

        _pre.Ensure(outLength);
        Output.Ensure(outLength);

        for (int j = 0; j < ConvWeights.Length; j++)
        {
            ConvForward(j, input.Ptr, _z[j].Ptr);
        }

        if (ScaleWeight != null)
        {
            ScaleForward(input.Ptr, _z[^1].Ptr);
        }

        for (int j = 0; j < _z.Length; j++)
        {
            BatchNorm bn = j < ConvBns.Length ? ConvBns[j] : ScaleBn!;
            if (training)
            {
                bn.ForwardTrain(_z[j].Ptr, rows, _z[j].Ptr, _pre.Ptr, accumulate: j > 0);
            }
            else
            {
                bn.ForwardEval(_z[j].Ptr, rows, _pre.Ptr, accumulate: j > 0);
            }
        }

        if (SkipBn != null)
        {
            if (training)
            {
                _skipXhat.Ensure(outLength);
                SkipBn.ForwardTrain(input.Ptr, rows, _skipXhat.Ptr, _pre.Ptr, accumulate: true);
            }
            else
            {
                SkipBn.ForwardEval(input.Ptr, rows, _pre.Ptr, accumulate: true);
            }
        }

        if (Se != null)
        {
            Se.Forward(_pre.Ptr, batch, OutPixels, Output.Ptr);
        }
        else
        {
            Kernels.Relu(_pre.Ptr, Output.Ptr, outLength);
        }

        return Output;
    }

    /// <summary>Backward of the last training forward: accumulates parameter gradients, fills <see cref="InputGrad"/> (except for the stem).</summary>
    public void Backward(FloatBuffer outputGrad)
    {
        if (!_trained || _input == null)
        {
            throw new InvalidOperationException("Backward needs a training forward first.");
        }

        int cout = Info.OutChannels;
        int rows = _batch * OutPixels;
        long outLength = (long)rows * cout;
        _dPre.Ensure(outLength);
        _dz.Ensure(outLength);
        if (Se != null)
        {
            Se.Backward(_pre.Ptr, Output.Ptr, outputGrad.Ptr, _batch, OutPixels, _dPre.Ptr);
        }
        else
        {
            Kernels.ReluBackward(Output.Ptr, outputGrad.Ptr, _dPre.Ptr, outLength);
        }

        bool stem = Info.Kind == BlockKind.Stem;
        long inLength = (long)_batch * InPixels * Info.InChannels;
        if (!stem)
        {
            InputGrad.Ensure(inLength);
            InputGrad.Clear(inLength);
        }

        for (int j = 0; j < _z.Length; j++)
        {
            BatchNorm bn = j < ConvBns.Length ? ConvBns[j] : ScaleBn!;
            bn.Backward(_dPre.Ptr, _z[j].Ptr, _dz.Ptr, accumulate: false);
            if (j < ConvBns.Length)
            {
                ConvBackward(j, _input.Ptr, _dz.Ptr, stem ? null : InputGrad.Ptr);
            }
            else
            {
                ScaleBackward(_input.Ptr, _dz.Ptr, stem ? null : InputGrad.Ptr);
            }
        }

        SkipBn?.Backward(_dPre.Ptr, _skipXhat.Ptr, InputGrad.Ptr, accumulate: true);
    }

    private void ConvForward(int j, float* x, float* z)
    {
        BlockInfo b = Info;
        float[] w = ConvWeights[j].Value;
        FloatBuffer packed = _packed[j];
        nint px = (nint)x, pz = (nint)z, pw = (nint)packed.Ptr, pb = (nint)_zeroBias.Ptr;
        int inImage = InPixels * b.InChannels, outImage = OutPixels * b.OutChannels;
        switch (b.Kind)
        {
            case BlockKind.Stem:
                WeightPacking.PackStem(w, b.OutChannels, b.InChannels, packed.AsSpan(PackedSize.Stem(b.OutChannels, b.InChannels)));
                Par.For(_batch, 1, (_, i0, i1) =>
                {
                    for (int i = i0; i < i1; i++)
                    {
                        StemConv3x3.Run((float*)px + ((nint)i * inImage), b.InChannels, b.InHeight, b.InWidth, (float*)pw, (float*)pb,
                            (float*)pz + ((nint)i * outImage), b.OutChannels, b.OutHeight, b.OutWidth, b.Stride, false);
                    }
                });
                break;
            case BlockKind.Depthwise:
                WeightPacking.PackDepthwise(w, b.OutChannels, packed.AsSpan(PackedSize.Depthwise(b.OutChannels)));
                Par.For(_batch, 1, (_, i0, i1) =>
                {
                    for (int i = i0; i < i1; i++)
                    {
                        DepthwiseConv3x3.Run((float*)px + ((nint)i * inImage), b.InHeight, b.InWidth, b.InChannels, (float*)pw, (float*)pb,
                            (float*)pz + ((nint)i * outImage), b.OutHeight, b.OutWidth, b.Stride, false);
                    }
                });
                break;
            default:
                WeightPacking.PackPointwise(w, b.OutChannels, b.InChannels, packed.AsSpan(PackedSize.Pointwise(b.OutChannels, b.InChannels)));
                Par.For(_batch * OutPixels, 64, (_, r0, r1) =>
                    PointwiseConv.Run((float*)px + ((nint)r0 * b.InChannels), r1 - r0, b.InChannels, b.InChannels, (float*)pw, (float*)pb,
                        (float*)pz + ((nint)r0 * b.OutChannels), b.OutChannels, false));
                break;
        }
    }

    private void ScaleForward(float* x, float* z)
    {
        BlockInfo b = Info;
        int cout = b.OutChannels, cin = b.InChannels, s = b.Stride;
        float[] w = ScaleWeight!.Value;
        float* wt = _scaleT.Ptr;
        if (b.Kind == BlockKind.Stem)
        {
            for (int o = 0; o < cout; o++)
            {
                for (int i = 0; i < cin; i++)
                {
                    wt[(i * cout) + o] = w[(o * cin) + i];
                }
            }
        }
        else
        {
            w.AsSpan(0, cout).CopyTo(new Span<float>(wt, cout));
        }

        nint px = (nint)x, pz = (nint)z, pwt = (nint)wt;
        Par.For(_batch, 1, (_, i0, i1) =>
        {
            for (int img = i0; img < i1; img++)
            {
                for (int oy = 0; oy < b.OutHeight; oy++)
                {
                    for (int ox = 0; ox < b.OutWidth; ox++)
                    {
                        float* zo = (float*)pz + ((((nint)img * OutPixels) + (oy * b.OutWidth) + ox) * cout);
                        if (b.Kind == BlockKind.Stem)
                        {
                            float* xi = (float*)px + ((nint)img * cin * InPixels) + (oy * s * b.InWidth) + (ox * s);
                            for (int c = 0; c < cout; c += 8)
                            {
                                Vector256<float> acc = Vector256<float>.Zero;
                                for (int i = 0; i < cin; i++)
                                {
                                    acc = Kernels.MulAdd(Vector256.Create(xi[(nint)i * InPixels]), Vector256.Load((float*)pwt + (i * cout) + c), acc);
                                }

                                acc.Store(zo + c);
                            }
                        }
                        else
                        {
                            float* xi = (float*)px + ((((nint)img * InPixels) + (oy * s * b.InWidth) + (ox * s)) * cin);
                            for (int c = 0; c < cout; c += 8)
                            {
                                (Vector256.Load(xi + c) * Vector256.Load((float*)pwt + c)).Store(zo + c);
                            }
                        }
                    }
                }
            }
        });
    }

    private void ConvBackward(int j, float* x, float* dz, float* dx)
    {
        BlockInfo b = Info;
        Parameter wp = ConvWeights[j];
        int cout = b.OutChannels, cin = b.InChannels;
        if (b.Kind == BlockKind.Pointwise)
        {
            int rows = _batch * OutPixels;
            fixed (float* g = wp.Grad)
            fixed (float* wv = wp.Value)
            {
                Kernels.GemmTNAccumulate(dz, x, g, cout, cin, rows, _scratch);
                Kernels.GemmNN(dz, wv, dx, rows, cin, cout, accumulate: true);
            }

            return;
        }

        // 3x3 (stem or depthwise): per-thread partial weight gradients laid out [cin or 1][tap][cout].
        int wc = b.Kind == BlockKind.Stem ? cin : 1;
        int partSize = wc * 9 * cout;
        int parts = Par.Parts(_batch, 1);
        _scratch.Ensure((long)partSize * parts);
        _scratch.Clear((long)partSize * parts);
        float[] w = wp.Value;
        float* wt = _scaleT.Ptr; // reuse as [tap][c] for the depthwise input gradient
        if (b.Kind == BlockKind.Depthwise)
        {
            _scaleT.Ensure(9L * cout);
            wt = _scaleT.Ptr;
            for (int c = 0; c < cout; c++)
            {
                for (int t = 0; t < 9; t++)
                {
                    wt[(t * cout) + c] = w[(c * 9) + t];
                }
            }
        }

        nint px = (nint)x, pdz = (nint)dz, pdx = (nint)dx, ps = (nint)_scratch.Ptr, pwt = (nint)wt;
        Par.For(_batch, 1, (part, i0, i1) =>
        {
            float* gw = (float*)ps + ((nint)part * partSize);
            for (int img = i0; img < i1; img++)
            {
                for (int oy = 0; oy < b.OutHeight; oy++)
                {
                    for (int ky = 0; ky < 3; ky++)
                    {
                        int iy = (oy * b.Stride) + ky - 1;
                        if ((uint)iy >= (uint)b.InHeight)
                        {
                            continue;
                        }

                        for (int ox = 0; ox < b.OutWidth; ox++)
                        {
                            float* g = (float*)pdz + ((((nint)img * OutPixels) + (oy * b.OutWidth) + ox) * cout);
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int ix = (ox * b.Stride) + kx - 1;
                                if ((uint)ix >= (uint)b.InWidth)
                                {
                                    continue;
                                }

                                int t = (ky * 3) + kx;
                                if (b.Kind == BlockKind.Stem)
                                {
                                    float* xi = (float*)px + ((nint)img * cin * InPixels) + (iy * b.InWidth) + ix;
                                    for (int i = 0; i < cin; i++)
                                    {
                                        Vector256<float> xv = Vector256.Create(xi[(nint)i * InPixels]);
                                        float* gwi = gw + (((i * 9) + t) * cout);
                                        for (int c = 0; c < cout; c += 8)
                                        {
                                            Kernels.MulAdd(xv, Vector256.Load(g + c), Vector256.Load(gwi + c)).Store(gwi + c);
                                        }
                                    }
                                }
                                else
                                {
                                    nint inOff = (((nint)img * InPixels) + (iy * b.InWidth) + ix) * cin;
                                    float* xi = (float*)px + inOff, di = (float*)pdx + inOff;
                                    float* gwt = gw + (t * cout), wtt = (float*)pwt + (t * cout);
                                    for (int c = 0; c < cout; c += 8)
                                    {
                                        Vector256<float> gv = Vector256.Load(g + c);
                                        Kernels.MulAdd(gv, Vector256.Load(xi + c), Vector256.Load(gwt + c)).Store(gwt + c);
                                        Kernels.MulAdd(gv, Vector256.Load(wtt + c), Vector256.Load(di + c)).Store(di + c);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });

        float[] grad = wp.Grad;
        for (int p = 0; p < parts; p++)
        {
            float* gw = _scratch.Ptr + ((nint)p * partSize);
            for (int i = 0; i < wc; i++)
            {
                for (int t = 0; t < 9; t++)
                {
                    for (int c = 0; c < cout; c++)
                    {
                        grad[(((c * wc) + i) * 9) + t] += gw[(((i * 9) + t) * cout) + c];
                    }
                }
            }
        }
    }

    private void ScaleBackward(float* x, float* dz, float* dx)
    {
        BlockInfo b = Info;
        int cout = b.OutChannels, cin = b.InChannels, s = b.Stride;
        bool stem = b.Kind == BlockKind.Stem;
        int wc = stem ? cin : 1;
        int partSize = wc * cout;
        int parts = Par.Parts(_batch, 1);
        _scratch.Ensure((long)partSize * parts);
        _scratch.Clear((long)partSize * parts);
        float[] w = ScaleWeight!.Value;
        _scaleT.Ensure(cout);
        if (!stem)
        {
            w.AsSpan(0, cout).CopyTo(new Span<float>(_scaleT.Ptr, cout));
        }

        nint px = (nint)x, pdz = (nint)dz, pdx = (nint)dx, ps = (nint)_scratch.Ptr, pw = (nint)_scaleT.Ptr;
        Par.For(_batch, 1, (part, i0, i1) =>
        {
            float* gw = (float*)ps + ((nint)part * partSize);
            for (int img = i0; img < i1; img++)
            {
                for (int oy = 0; oy < b.OutHeight; oy++)
                {
                    for (int ox = 0; ox < b.OutWidth; ox++)
                    {
                        float* g = (float*)pdz + ((((nint)img * OutPixels) + (oy * b.OutWidth) + ox) * cout);
                        if (stem)
                        {
                            float* xi = (float*)px + ((nint)img * cin * InPixels) + (oy * s * b.InWidth) + (ox * s);
                            for (int i = 0; i < cin; i++)
                            {
                                Vector256<float> xv = Vector256.Create(xi[(nint)i * InPixels]);
                                for (int c = 0; c < cout; c += 8)
                                {
                                    Kernels.MulAdd(xv, Vector256.Load(g + c), Vector256.Load(gw + (i * cout) + c)).Store(gw + (i * cout) + c);
                                }
                            }
                        }
                        else
                        {
                            nint inOff = (((nint)img * InPixels) + (oy * s * b.InWidth) + (ox * s)) * cin;
                            float* xi = (float*)px + inOff, di = (float*)pdx + inOff;
                            for (int c = 0; c < cout; c += 8)
                            {
                                Vector256<float> gv = Vector256.Load(g + c);
                                Kernels.MulAdd(gv, Vector256.Load(xi + c), Vector256.Load(gw + c)).Store(gw + c);
                                Kernels.MulAdd(gv, Vector256.Load((float*)pw + c), Vector256.Load(di + c)).Store(di + c);
                            }
                        }
                    }
                }
            }
        });

        float[] grad = ScaleWeight.Grad;
        for (int p = 0; p < parts; p++)
        {
            float* gw = _scratch.Ptr + ((nint)p * partSize);
            for (int i = 0; i < wc; i++)
            {
                for (int c = 0; c < cout; c++)
                {
                    grad[(c * wc) + i] += gw[(i * cout) + c];
                }
            }
        }
    }
}
