using Microsoft.Build.Framework;

namespace MobileOne.Tasks;

/// <summary>What the MobileOne build tasks share: the <see cref="ITask"/> plumbing and logging with our codes.</summary>
public abstract class MobileOneTask : ITask
{
    /// <summary>Gets or sets the build engine (MSBuild sets it).</summary>
    public IBuildEngine BuildEngine { get; set; } = null!;

    /// <summary>Gets or sets the host object (unused).</summary>
    public ITaskHost? HostObject { get; set; }

    /// <inheritdoc/>
    public abstract bool Execute();

    /// <summary>Logs a message at <paramref name="importance"/>.</summary>
    protected void LogMessage(MessageImportance importance, string message) =>
        BuildEngine.LogMessageEvent(new BuildMessageEventArgs(message, helpKeyword: null, senderName: GetType().Name, importance));

    /// <summary>Logs warning <paramref name="code"/> at <paramref name="file"/>.</summary>
    protected void LogWarning(string code, string file, string message) =>
        BuildEngine.LogWarningEvent(new BuildWarningEventArgs(
            subcategory: null, code: code, file: file, lineNumber: 0, columnNumber: 0, endLineNumber: 0, endColumnNumber: 0,
            message: message, helpKeyword: null, senderName: GetType().Name));
}
