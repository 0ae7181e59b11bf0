using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;

namespace MobileOne.Generator;

/// <summary>
/// Runs every pipeline step so that an unexpected exception (a bug of ours) becomes MO0016 located at the file it
/// happened on, never an exception thrown into the compiler (CS8785, AD0001), and the other models still generate.
/// Per-file steps (read, read options, parse, emit, report) catch around the one file. Steps over all files (pair,
/// class-name check) that throw are rerun on each file alone to find the file(s) that throw, which get MO0016, and then
/// on the rest; if the rest still throws, every file of the step gets MO0016. Only the cancellation of the step's own
/// token propagates. The values produced stay the equatable pipeline models, so caching is unchanged.
/// </summary>
internal static class PipelineGuard
{
    /// <summary>Whether <paramref name="e"/> is a failure to report, not the cancellation the driver asked for.</summary>
    public static bool IsFailure(Exception e, CancellationToken cancellationToken) =>
        !(e is OperationCanceledException && cancellationToken.IsCancellationRequested);

    /// <summary>MO0016 at <paramref name="path"/>: the file name, the exception type, the step and the message.</summary>
    public static DiagnosticInfo InternalError(string path, string step, Exception e) =>
        DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, path, FileName(path), e.GetType().Name + " in " + step + ": " + e.Message);

    /// <summary>The read step: one file's content (<see cref="ModelFileReader.Read"/>), or MO0016 in its place.</summary>
    public static ModelFileContent Read(AdditionalText text, CancellationToken cancellationToken)
    {
        try
        {
            return ModelFileReader.Read(text, cancellationToken);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            return ModelFileContent.Failed(text.Path, ModelFileReader.KindOf(text.Path), InternalError(text.Path, TrackingNames.ReadModelFile, e));
        }
    }

    /// <summary>The options step: one file's options (<see cref="ModelFileReader.ReadOptions"/>), or none and MO0016.</summary>
    public static ModelFileOptions Read(AdditionalText text, AnalyzerConfigOptionsProvider options, CancellationToken cancellationToken)
    {
        try
        {
            return new ModelFileOptions(text.Path, ModelFileReader.ReadOptions(text, options), null);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            return new ModelFileOptions(text.Path, ModelOptions.None, InternalError(text.Path, TrackingNames.ReadModelOptions, e));
        }
    }

    /// <summary>The pairing step: each file gets its options, then files are grouped into models.</summary>
    public static ImmutableArray<ModelInput> Pair(ImmutableArray<ModelFileContent> contents, ImmutableArray<ModelFileOptions> options, CancellationToken cancellationToken) =>
        Isolate(
            contents,
            (items, token) => ModelFileReader.Pair(ModelFileReader.WithOptions(items, options), token),
            (content, e) => PairFailure(new ModelFile(content, ModelOptions.None), e),
            cancellationToken);

    /// <summary>Pairing of files that already have their options.</summary>
    public static ImmutableArray<ModelInput> Pair(ImmutableArray<ModelFile> files, CancellationToken cancellationToken) =>
        Isolate(files, ModelFileReader.Pair, PairFailure, cancellationToken);

    public static ParseResult Parse(ModelInput input, CancellationToken cancellationToken)
    {
        try
        {
            // ModelFileParser.Parse catches what parsing throws itself; this catches the rest of the step.
            return ModelFileParser.Parse(input, cancellationToken);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            string path = input.Weights?.Path ?? input.Architecture?.Path ?? string.Empty;
            return new ParseResult(null, new EquatableArray<DiagnosticInfo>(new[] { InternalError(path, TrackingNames.BuildNetworkSpec, e) }), path);
        }
    }

    public static ImmutableArray<ParseResult> CheckClassNames(ImmutableArray<ParseResult> results, CancellationToken cancellationToken) =>
        Isolate(
            results,
            static (all, _) => MobileOneGenerator.CheckClassNames(all),
            (result, e) =>
            {
                var diagnostics = new List<DiagnosticInfo>(result.Diagnostics) { InternalError(result.FilePath, TrackingNames.CheckClassNames, e) };
                return new ParseResult(null, diagnostics.ToEquatableArray(), result.FilePath);
            },
            cancellationToken);

    /// <summary>Adds the class of one model, or reports MO0016 at its file instead.</summary>
    public static void Emit(SourceProductionContext context, EmitInput input)
    {
        try
        {
            FaultInjection.Point(TrackingNames.Emit, input.FilePath);
            context.AddSource(InferenceEmitter.HintName(input.Spec), InferenceEmitter.Emit(input.Spec));
        }
        catch (Exception e) when (IsFailure(e, context.CancellationToken))
        {
            context.ReportDiagnostic(InternalError(input.FilePath, TrackingNames.Emit, e).ToDiagnostic());
        }
    }

    /// <summary>Reports one model's diagnostics; one that cannot be turned into a Roslyn diagnostic becomes MO0016.</summary>
    public static void Report(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (DiagnosticInfo info in diagnostics)
        {
            Diagnostic diagnostic;
            try
            {
                FaultInjection.Point(FaultInjection.ReportDiagnostics, info.FilePath);
                diagnostic = info.ToDiagnostic();
            }
            catch (Exception e) when (IsFailure(e, context.CancellationToken))
            {
                diagnostic = InternalError(info.FilePath, FaultInjection.ReportDiagnostics, e).ToDiagnostic();
            }

            context.ReportDiagnostic(diagnostic);
        }
    }

    /// <summary>
    /// Runs a step over all items; if it throws, finds the items on which it throws alone (each gets
    /// <paramref name="fail"/>) and runs it again on the others (whose outputs come first, in the step's order),
    /// failing those too if that throws. If no item throws alone, every item fails. Deterministic for given items.
    /// </summary>
    private static ImmutableArray<TOut> Isolate<TIn, TOut>(
        ImmutableArray<TIn> items,
        Func<ImmutableArray<TIn>, CancellationToken, ImmutableArray<TOut>> step,
        Func<TIn, Exception, TOut> fail,
        CancellationToken cancellationToken)
    {
        Exception error;
        try
        {
            return step(items, cancellationToken);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            error = e;
        }

        var rest = ImmutableArray.CreateBuilder<TIn>(items.Length);
        var failed = ImmutableArray.CreateBuilder<TOut>();
        foreach (TIn item in items)
        {
            try
            {
                step(ImmutableArray.Create(item), cancellationToken);
                rest.Add(item);
            }
            catch (Exception e) when (IsFailure(e, cancellationToken))
            {
                failed.Add(fail(item, e));
            }
        }

        if (failed.Count == 0)
        {
            // Nothing fails alone: the bug is in combining the items, so none of them gets through.
            foreach (TIn item in items)
            {
                failed.Add(fail(item, error));
            }

            return failed.ToImmutable();
        }

        try
        {
            return step(rest.ToImmutable(), cancellationToken).AddRange(failed);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            foreach (TIn item in rest)
            {
                failed.Add(fail(item, e));
            }

            return failed.ToImmutable();
        }
    }

    private static ModelInput PairFailure(ModelFile file, Exception e) => new ModelInput(
        file.Kind == ModelFileKind.Weights ? file : null,
        file.Kind == ModelFileKind.Weights ? null : file,
        new EquatableArray<DiagnosticInfo>(new[] { InternalError(file.Path, TrackingNames.PairModelFiles, e) }));

    private static string FileName(string path)
    {
        try
        {
            return System.IO.Path.GetFileName(path);
        }
        catch (ArgumentException)
        {
            return path;
        }
    }
}
