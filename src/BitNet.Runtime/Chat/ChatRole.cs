namespace BitNet.Runtime.Chat;

/// <summary>The roles a chat format renders; developer is folded into <see cref="System"/>.</summary>
public enum ChatRole
{
    /// <summary>system or developer: instructions for the assistant.</summary>
    System,
    /// <summary>The human side of the conversation.</summary>
    User,
    /// <summary>Earlier model replies.</summary>
    Assistant,
    /// <summary>Tool results; each format places them in a turn of its own choosing (<see cref="ChatFormat"/>).</summary>
    Tool,
}

/// <summary>Parses OpenAI role names.</summary>
public static class ChatRoles
{
    /// <summary>The role names accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>Maps an OpenAI role name (case-insensitive) to a <see cref="ChatRole"/>; developer means system.</summary>
    public static ChatRole Parse(string role)
    {
        ArgumentNullException.ThrowIfNull(role);
        if (role.Equals("system", StringComparison.OrdinalIgnoreCase)) return ChatRole.System;
        if (role.Equals("developer", StringComparison.OrdinalIgnoreCase)) return ChatRole.System;
        if (role.Equals("user", StringComparison.OrdinalIgnoreCase)) return ChatRole.User;
        if (role.Equals("assistant", StringComparison.OrdinalIgnoreCase)) return ChatRole.Assistant;
        if (role.Equals("tool", StringComparison.OrdinalIgnoreCase)) return ChatRole.Tool;
        throw new ArgumentException($"unknown chat role '{role}'; expected one of: {string.Join(", ", Names)}", nameof(role));
    }
}
